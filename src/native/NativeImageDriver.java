import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.lang.module.ModuleDescriptor;
import java.lang.module.ModuleFinder;
import java.lang.module.ModuleReference;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystem;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.jar.Attributes;
import java.util.jar.JarFile;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import org.graalvm.collections.EconomicMap;

import com.oracle.svm.configure.ConfigurationFile;
import com.oracle.svm.core.SubstrateOptions;
import com.oracle.svm.core.SubstrateUtil;
import com.oracle.svm.core.configure.ConfigurationFiles;
import com.oracle.svm.core.option.APIOption;
import com.oracle.svm.core.option.APIOptionGroup;
import com.oracle.svm.core.option.OptionOrigin;
import com.oracle.svm.core.option.OptionUtils;
import com.oracle.svm.hosted.NativeImageGeneratorRunner;
import com.oracle.svm.hosted.option.HostedOptionParser;

import jdk.graal.compiler.options.OptionDescriptor;
import jdk.graal.compiler.options.OptionDescriptors;
import jdk.graal.compiler.options.OptionKey;
import jdk.graal.compiler.options.OptionsContainer;

/**
 * Runs GraalVM's native-image builder over Quarkus's native sources ({@code target/native-sources}) up to the relocatable
 * object file, from the builder's Maven Central jars on a plain JDK with JVMCI. GraalVM's {@code native-image} driver, which
 * turns {@code native-image.args} into the builder's command line, is not published on Maven Central; this class does its
 * part the way the driver does (substratevm/src/com.oracle.svm.driver: NativeImage, APIOptionHandler,
 * DefaultOptionHandler, CmdLineOptionHandler, NativeImageMetaInfWalker), reading the API options, the configuration file
 * kinds and the builder's constants from the builder jars themselves, so nothing is guessed that the builder can tell.
 * <p>
 * Run by {@code src/native/compile-object}, which resolves the builder jars and puts them on this program's module path.
 */
public final class NativeImageDriver {

    private static final String OH = "-H:";
    private static final String OR = "-R:";
    private static final String ALL_UNNAMED = "ALL-UNNAMED";
    private static final String BUILDER_MODULE = "org.graalvm.nativeimage.builder";
    private static final String COMPILER_MODULE = "jdk.graal.compiler";
    /**
     * The builder's progress lines, one per stage, ended when the stage is: {@code [2/8] Performing analysis...  [****]
     * (95.1s @ 2.31GB)}, the time the stage took and the heap in use after it.
     */
    private static final Pattern STAGE = Pattern.compile("^\\[(\\d+)/(\\d+)] ([^.\\[]+)");
    private static final Pattern STAGE_DONE = Pattern.compile("\\(([0-9.]+)s @ ([0-9.]+)GB\\)\\s*$");

    private final Settings settings;
    private final Map<String, ApiOption> apiOptions;
    /** The builder JVM's own arguments, in the driver's order: its defaults, then JavaArgs and -J arguments. */
    private final List<String> builderJavaArgs = new ArrayList<>();
    private final List<String> customJavaArgs = new ArrayList<>();
    /** What the builder is given after {@code -imagecp}: hosted (-H:) and runtime (-R:) options, origins included. */
    private final List<String> builderArgs = new ArrayList<>();
    private final LinkedHashSet<Path> imageClasspath = new LinkedHashSet<>();
    private final List<Pattern[]> excludedConfigs = new ArrayList<>();
    private final List<String> leftovers = new ArrayList<>();
    /** Every META-INF/native-image file applied, for the report. */
    private final List<String> appliedMetaInf = new ArrayList<>();
    private boolean jarMode;
    private boolean enableNativeAccessAllUnnamed;

    private NativeImageDriver(Settings settings) {
        this.settings = settings;
        this.apiOptions = apiOptions();
    }

    public static void main(String[] args) throws Exception {
        if (args.length == 2 && args[0].equals("--print-builder-exports")) {
            // Loading the builder's option classes already needs the builder's exports, so compile-object asks for them
            // first and starts this program again with them. This program (never the builder) also gets the builder
            // module opened, to instantiate the value transformers and groups the API options name, as the driver does.
            Path[] jars;
            try (Stream<Path> files = Files.list(Path.of(args[1]))) {
                jars = files.filter(p -> p.toString().endsWith(".jar")).toArray(Path[]::new);
            }
            addExports(builderModuleNames(jars)).forEach(System.out::println);
            ModuleLayer.boot().findModule(BUILDER_MODULE).orElseThrow().getPackages().stream().sorted()
                    .forEach(pkg -> System.out.println("--add-opens=" + BUILDER_MODULE + "/" + pkg + "=" + ALL_UNNAMED));
            return;
        }
        Settings settings = Settings.parse(args);
        System.exit(new NativeImageDriver(settings).run());
    }

    private int run() throws IOException, InterruptedException {
        Path argsFile = settings.sources.resolve("native-image.args");
        if (!Files.isRegularFile(argsFile)) {
            throw new Failure("no " + argsFile + ": build Quarkus's native sources first (./mvnw package -Pnative-sources)");
        }
        // Quarkus writes the arguments on one line, separated by spaces; its guide runs them as `native-image $(cat native-image.args)`.
        List<String> userArgs = new ArrayList<>(Arrays.asList(Files.readString(argsFile).trim().split("\\s+")));
        // Stop after the relocatable object: linking needs the static JDK libraries and SubstrateVM's C libraries, which
        // only a GraalVM or Mandrel distribution ships.
        userArgs.addAll(List.of("-H:+UnlockExperimentalVMOptions", "-H:+ExitAfterRelocatableImageWrite",
                "-H:TempDirectory=" + settings.out.resolve("tmp"), "-H:-UnlockExperimentalVMOptions"));
        userArgs.addAll(settings.extraArgs);

        prepareBuilderJavaArgs();
        processUserArgs(userArgs);
        List<String> command = completeCommand();
        Path commandFile = settings.out.resolve("builder-command.txt");
        Files.writeString(commandFile, String.join("\n", command) + "\n");
        if (settings.dryRun) {
            command.forEach(System.out::println);
            return 0;
        }
        return build(command);
    }

    // ---- the driver's defaults (NativeImage.prepareImageBuildArgs, BuildConfiguration.getBuilderJavaArgs) ------------

    private void prepareBuilderJavaArgs() {
        String version = builderVersion();
        builderJavaArgs.add("-Xss10m");
        // The driver sizes the heap as a share of the memory available; here it is given (other builds share the machine).
        builderJavaArgs.add("-Xmx" + settings.xmx);
        builderJavaArgs.add("-XX:GCTimeRatio=19");
        builderJavaArgs.add("-XX:+ExitOnOutOfMemoryError");
        builderJavaArgs.add("-Djava.awt.headless=true");
        builderJavaArgs.add("-Dorg.graalvm.vendor=Oracle Corporation");
        builderJavaArgs.add("-Dorg.graalvm.vendorurl=https://www.graalvm.org/");
        builderJavaArgs.add("-Dorg.graalvm.vendorversion=GraalVM CE " + version + " (builder jars from Maven Central)");
        builderJavaArgs.add("-Dorg.graalvm.version=" + version);
        builderJavaArgs.add("-Dcom.oracle.graalvm.isaot=true");
        builderJavaArgs.add("-Djava.system.class.loader=com.oracle.svm.hosted.NativeImageSystemClassLoader");
        builderJavaArgs.add("-Dorg.graalvm.nativeimage.imagecode=buildtime");
        builderJavaArgs.add("-Xshare:off");
    }

    // ---- argument processing (NativeImage.NativeImageArgsProcessor and its option handlers) ---------------------------

    private void processUserArgs(List<String> args) {
        Deque<String> queue = new ArrayDeque<>(args);
        Deque<String> rest = new ArrayDeque<>();
        // First pass, as the driver's CmdLineOptionHandler: options only a command line may give.
        while (!queue.isEmpty()) {
            if (!consumeCommandLineOption(queue)) {
                rest.add(queue.poll());
            }
        }
        applyArgs(rest, OptionOrigin.originUser, false);
    }

    private boolean consumeCommandLineOption(Deque<String> args) {
        String head = args.peek();
        switch (head) {
            case "--exclude-config" -> {
                args.poll();
                String jar = args.poll();
                String resource = args.poll();
                if (jar == null || resource == null) {
                    throw new Failure("--exclude-config needs a jar and a resource regular expression");
                }
                excludedConfigs.add(new Pattern[] { Pattern.compile(jar), Pattern.compile(resource) });
                return true;
            }
            case "--verbose", "--dry-run", "--help", "--version", "--help-extra", "--expert-options", "--expert-options-all",
                    "--configurations-path", "--expert-options-detail" ->
                throw new Failure(head + " is a native-image driver option this check does not support");
            default -> {
                if (head.startsWith("--bundle") || head.startsWith("--debug-attach") || head.startsWith("--macro:")) {
                    throw new Failure(head + " is a native-image driver option this check does not support");
                }
                return false;
            }
        }
    }

    /**
     * Applies arguments from one origin: the command line (leftovers are the image name), or a native-image.properties
     * file's Args (strict: anything unknown is an error, as in the driver).
     */
    private void applyArgs(Deque<String> args, String origin, boolean strict) {
        while (!args.isEmpty()) {
            String head = args.peek();
            if (strict && consumeCommandLineOptionFromFile(head, origin)) {
                continue;
            }
            String translated = translateApiOption(args, origin);
            if (translated != null) {
                args.poll();
                builderArgs.add(withOrigin(translated, origin + OptionOrigin.isAPISuffix));
                continue;
            }
            if (consumeDefaultOption(args, origin)) {
                continue;
            }
            if (strict) {
                throw new Failure("Property 'Args' contains invalid entry '" + head + "' in " + origin);
            }
            String leftover = args.poll();
            if (leftover.startsWith("-")) {
                throw new Failure("unrecognized native-image option '" + leftover + "'");
            }
            leftovers.add(leftover);
        }
    }

    private static boolean consumeCommandLineOptionFromFile(String head, String origin) {
        if (head.equals("--exclude-config") || head.equals("--verbose") || head.startsWith("--bundle")) {
            throw new Failure("Using '" + head + "' provided by " + origin + " is only allowed on command line.");
        }
        return false;
    }

    /** The driver's DefaultOptionHandler: class and module path, -jar, -H:/-R:, -D/-J, --add-modules. */
    private boolean consumeDefaultOption(Deque<String> args, String origin) {
        String head = args.peek();
        switch (head) {
            case "-cp", "-classpath", "--class-path" -> {
                args.poll();
                for (String entry : required(args.poll(), head).split(java.io.File.pathSeparator, -1)) {
                    addImageClasspath(Path.of(entry.isEmpty() ? "." : entry), false);
                }
                return true;
            }
            case "-jar" -> {
                args.poll();
                Path jar = settings.sources.resolve(required(args.poll(), head)).toAbsolutePath().normalize();
                readManifest(jar, this::handleJarMainAttributes);
                jarMode = true;
                addImageClasspath(jar, true);
                return true;
            }
            case "-p", "--module-path", "-m", "--module", "--add-modules" ->
                throw new Failure(head + ": module-path images are not what Quarkus builds; this check does not support them");
            default -> {
            }
        }
        if (head.startsWith("--class-path=")) {
            args.poll();
            for (String entry : head.substring("--class-path=".length()).split(java.io.File.pathSeparator, -1)) {
                addImageClasspath(Path.of(entry), false);
            }
            return true;
        }
        if (head.startsWith(OH)) {
            args.poll();
            builderArgs.add(withOrigin(head, origin));
            return true;
        }
        if (head.startsWith(OR)) {
            args.poll();
            builderArgs.add(head);
            return true;
        }
        if (head.startsWith("-D")) {
            customJavaArgs.add(args.poll());
            return true;
        }
        if (head.startsWith("-J")) {
            args.poll();
            if (head.equals("-J")) {
                throw new Failure("The -J option should not be followed by a space");
            }
            customJavaArgs.add(head.substring(2));
            return true;
        }
        return false;
    }

    private static String required(String value, String option) {
        if (value == null) {
            throw new Failure(option + " requires an argument");
        }
        return value;
    }

    /** Main-Class, Add-Opens/Add-Exports and Enable-Native-Access of the -jar jar (NativeImage.handleManifestFileAttributes). */
    private void handleJarMainAttributes(Path jar, Attributes attributes) {
        String mainClass = attributes.getValue("Main-Class");
        if (mainClass == null) {
            throw new Failure("No main manifest attribute, in " + jar);
        }
        builderArgs.add(withOrigin(OH + "Class=" + mainClass, "manifest from " + jar.toUri()));
        for (String[] kind : new String[][] { { "Add-Opens", "AddOpens" }, { "Add-Exports", "AddExports" } }) {
            String value = attributes.getValue(kind[0]);
            if (value != null) {
                for (String modulePackage : value.split(" ")) {
                    builderArgs.add(OH + kind[1] + "=" + modulePackage + "=" + ALL_UNNAMED);
                }
            }
        }
        String nativeAccess = attributes.getValue("Enable-Native-Access");
        if (nativeAccess != null) {
            if (!ALL_UNNAMED.equals(nativeAccess)) {
                throw new Failure("illegal value \"" + nativeAccess + "\" for Enable-Native-Access: only " + ALL_UNNAMED);
            }
            enableNativeAccessAllUnnamed = true;
        }
    }

    // ---- the image class path and every entry's META-INF/native-image ------------------------------------------------

    private void addImageClasspath(Path entry, boolean strict) {
        Path path = entry.toAbsolutePath().normalize();
        if (!Files.exists(path)) {
            if (strict) {
                throw new Failure("Invalid Path entry " + entry);
            }
            imageClasspath.add(path); // tolerated like `java -cp` (the driver does the same)
            return;
        }
        if (!imageClasspath.add(path)) {
            return;
        }
        if (path.toString().endsWith(".jar")) {
            readManifest(path, (jar, attributes) -> {
                String classPath = attributes.getValue("Class-Path");
                if (classPath != null) {
                    for (String cp : classPath.trim().split(" +")) {
                        Path resolved = Path.of(cp).isAbsolute() ? Path.of(cp) : jar.getParent().resolve(cp);
                        addImageClasspath(resolved, false);
                    }
                }
            });
        }
        applyMetaInf(path);
    }

    private static void readManifest(Path jar, java.util.function.BiConsumer<Path, Attributes> consumer) {
        try (JarFile file = new JarFile(jar.toFile())) {
            if (file.getManifest() != null) {
                consumer.accept(jar, file.getManifest().getMainAttributes());
            }
        } catch (IOException e) {
            throw new Failure("Invalid or corrupt jarfile " + jar + ": " + e.getMessage());
        }
    }

    /** A kind of META-INF/native-image file and the option the driver turns it into (none for native-image.properties). */
    record FileType(String fileName, OptionKey<?> option) {
    }

    /** The kinds of META-INF/native-image files, in the driver's order (MetaInfFileType), named by the builder itself. */
    private static List<FileType> metaInfFileTypes() {
        return List.of(
                new FileType("native-image.properties", null),
                new FileType(ConfigurationFile.REACHABILITY_METADATA.getFileName(), ConfigurationFiles.Options.ReachabilityMetadataResources),
                new FileType(ConfigurationFile.JNI.getFileName(), ConfigurationFiles.Options.JNIConfigurationResources),
                new FileType(ConfigurationFile.FOREIGN.getFileName(), foreignResourcesOption()),
                new FileType(ConfigurationFile.REFLECTION.getFileName(), ConfigurationFiles.Options.ReflectionConfigurationResources),
                new FileType(ConfigurationFile.RESOURCES.getFileName(), ConfigurationFiles.Options.ResourceConfigurationResources),
                new FileType(ConfigurationFile.DYNAMIC_PROXY.getFileName(), ConfigurationFiles.Options.DynamicProxyConfigurationResources),
                new FileType(ConfigurationFile.SERIALIZATION.getFileName(), ConfigurationFiles.Options.SerializationConfigurationResources),
                new FileType(ConfigurationFile.SERIALIZATION_DENY.getFileName(), ConfigurationFiles.Options.SerializationDenyConfigurationResources),
                new FileType(ConfigurationFile.PREDEFINED_CLASSES_NAME.getFileName(),
                        ConfigurationFiles.Options.PredefinedClassesConfigurationResources));
    }

    /**
     * The foreign-function (FFM) configuration's option belongs to SubstrateVM's foreign module, which the svm artifact
     * does not bring: null then, and a library that ships such a file fails the check instead of being ignored.
     */
    private static OptionKey<?> foreignResourcesOption() {
        OptionDescriptor descriptor = hostedOptions().get("ForeignResources");
        return descriptor == null ? null : descriptor.getOptionKey();
    }

    private void applyMetaInf(Path entry) {
        try {
            if (Files.isDirectory(entry)) {
                applyMetaInf(entry, entry.resolve("META-INF/native-image"));
            } else if (entry.toString().endsWith(".jar")) {
                try (FileSystem jar = FileSystems.newFileSystem(URI.create("jar:" + entry.toUri()), Map.of())) {
                    applyMetaInf(entry, jar.getPath("/META-INF/native-image"));
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("Invalid classpath entry " + entry, e);
        }
    }

    private void applyMetaInf(Path entry, Path base) throws IOException {
        if (!Files.isDirectory(base)) {
            return;
        }
        for (FileType type : metaInfFileTypes()) {
            List<Path> files;
            try (Stream<Path> walk = Files.walk(base)) {
                files = walk.filter(p -> p.endsWith(type.fileName())).sorted().toList();
            }
            for (Path file : files) {
                if (isExcluded(file, entry)) {
                    appliedMetaInf.add("excluded " + entry.getFileName() + "!" + file);
                    continue;
                }
                boolean properties = type.fileName().equals("native-image.properties");
                if (!properties && type.option() == null) {
                    throw new Failure(entry + " ships " + file + ", but these builder jars have no foreign-function support");
                }
                appliedMetaInf.add(entry.getFileName() + "!" + file);
                Path resourceRoot = base.getParent().getParent();
                Path componentDirectory = resourceRoot.relativize(file).getParent();
                String origin = file.toUri().toString();
                if (properties) {
                    applyProperties(file, origin, componentDirectory);
                } else {
                    // stable configuration files: the option carries the API suffix, as in the driver
                    builderArgs.add(withOrigin(OH + type.option().getName() + "=" + resourceRoot.relativize(file),
                            origin + OptionOrigin.isAPISuffix));
                }
            }
        }
    }

    private boolean isExcluded(Path resource, Path entry) {
        return excludedConfigs.stream().anyMatch(e -> e[0].matcher(entry.toString()).find() && e[1].matcher(resource.toString()).find());
    }

    private void applyProperties(Path file, String origin, Path componentDirectory) throws IOException {
        Properties properties = new Properties();
        try (InputStream in = Files.newInputStream(file)) {
            properties.load(in);
        }
        Function<String, String> resolve = value -> value
                .replace("${.}", componentDirectory.toString())
                .replace("${java.home}", settings.javaHome.toString());
        String imageName = properties.getProperty("ImageName");
        if (imageName != null) {
            builderArgs.add(withOrigin(OH + "Name=" + resolve.apply(imageName), origin));
        }
        forEachValue(properties.getProperty("JavaArgs"), resolve, builderJavaArgs::add);
        Deque<String> args = new ArrayDeque<>();
        forEachValue(properties.getProperty("Args"), resolve, args::add);
        applyArgs(args, origin, true);
        if (properties.getProperty("ForceOnModulePath") != null) {
            throw new Failure(origin + " asks for ForceOnModulePath, which this check does not support");
        }
    }

    private static void forEachValue(String value, Function<String, String> resolve, Consumer<String> target) {
        if (value != null && !value.isBlank()) {
            for (String part : value.trim().split("\\s+")) {
                target.accept(resolve.apply(part));
            }
        }
    }

    // ---- API options: read from the builder's own option descriptors (APIOptionHandler) ------------------------------

    record ApiOption(String[] variants, char[] separators, String builderOption, String defaultValue, boolean defaultFinal,
            List<Function<Object, Object>> transformers, APIOptionGroup group, String deprecation) {
    }

    private static EconomicMap<String, OptionDescriptor> hostedOptions;

    private static synchronized EconomicMap<String, OptionDescriptor> hostedOptions() {
        if (hostedOptions == null) {
            EconomicMap<String, OptionDescriptor> hosted = EconomicMap.create();
            EconomicMap<String, OptionDescriptor> runtime = EconomicMap.create();
            Iterable<OptionDescriptors> descriptors = OptionsContainer.getDiscoverableOptions(NativeImageDriver.class.getClassLoader());
            HostedOptionParser.collectOptions(descriptors, hosted, runtime);
            hostedOptions = hosted;
            runtimeOptions = runtime;
        }
        return hostedOptions;
    }

    private static EconomicMap<String, OptionDescriptor> runtimeOptions;

    private static Map<String, ApiOption> apiOptions() {
        Map<String, ApiOption> options = new TreeMap<>();
        hostedOptions().getValues().forEach(d -> extractApiOption(OH, d, options));
        runtimeOptions.getValues().forEach(d -> extractApiOption(OR, d, options));
        if (options.isEmpty()) {
            throw new Failure("the builder jars declare no API options: they were not found on the module path");
        }
        return options;
    }

    @SuppressWarnings({ "unchecked", "rawtypes" })
    private static void extractApiOption(String prefix, OptionDescriptor descriptor, Map<String, ApiOption> options) {
        boolean isBoolean = descriptor.getOptionValueType().equals(Boolean.class);
        for (APIOption api : OptionUtils.getAnnotationsByType(descriptor, APIOption.class)) {
            String name = APIOption.Utils.optionName(api.name()[0]);
            APIOptionGroup group = null;
            String defaultValue = null;
            String builderOption = prefix;
            boolean hasFixed = api.fixedValue().length > 0;
            if (isBoolean) {
                if (!api.group().equals(APIOption.NullGroup.class)) {
                    group = newInstance(api.group());
                    name = APIOption.Utils.groupName(group) + api.name()[0];
                    if ((Boolean) descriptor.getOptionKey().getDefaultValue()) {
                        defaultValue = api.name()[0];
                    }
                }
                builderOption += api.kind().equals(APIOption.APIOptionKind.Negated) ? "-" : "+";
                builderOption += descriptor.getName();
            } else {
                if (api.defaultValue().length > 0) {
                    defaultValue = api.defaultValue()[0];
                }
                if (hasFixed) {
                    defaultValue = api.fixedValue()[0];
                }
                builderOption += descriptor.getName() + "=";
            }
            List<Function<Object, Object>> transformers = new ArrayList<>();
            for (Class transformer : api.valueTransformer()) {
                transformers.add((Function<Object, Object>) newInstance(transformer));
            }
            options.put(name, new ApiOption(api.name(), api.valueSeparator(), builderOption, defaultValue, isBoolean || hasFixed,
                    transformers, group, api.deprecated()));
        }
    }

    private static <T> T newInstance(Class<T> type) {
        try {
            var constructor = type.getDeclaredConstructor();
            constructor.setAccessible(true);
            return constructor.newInstance();
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException("cannot instantiate " + type.getName() + " named by an @APIOption", e);
        }
    }

    /** APIOptionHandler.translateOption: the builder option an API option stands for, or null. */
    private String translateApiOption(Deque<String> args, String origin) {
        String head = args.peek();
        for (ApiOption option : apiOptions.values()) {
            for (String variant : option.variants()) {
                String name;
                if (option.group() == null) {
                    name = APIOption.Utils.optionName(variant);
                } else if (option.group().multiValueOption() != null) {
                    if (!head.startsWith(APIOption.Utils.groupName(option.group()))) {
                        continue;
                    }
                    return head.replace(APIOption.Utils.optionName(option.group().name()), OH + option.group().multiValueOption().getName());
                } else {
                    name = APIOption.Utils.groupName(option.group()) + variant;
                }
                String value = null;
                boolean matched = false;
                if ((option.defaultFinal() || option.defaultValue() != null) && head.equals(name)) {
                    matched = true;
                } else {
                    for (char separator : option.separators()) {
                        if (separator == APIOption.WHITESPACE_SEPARATOR && head.equals(name)) {
                            args.poll();
                            value = required(args.peek(), head);
                            matched = true;
                            break;
                        }
                        String withSeparator = name + APIOption.Utils.valueSeparatorToString(separator);
                        if (separator != APIOption.WHITESPACE_SEPARATOR && head.startsWith(withSeparator)) {
                            value = head.substring(withSeparator.length());
                            matched = true;
                            break;
                        }
                    }
                }
                if (!matched) {
                    continue;
                }
                if (!option.deprecation().isEmpty()) {
                    System.out.println("Warning: deprecated option " + name + " from " + origin + ": " + option.deprecation());
                }
                String optionValue = option.group() != null ? null : option.defaultValue();
                if (value != null) {
                    if (option.defaultFinal()) {
                        throw new Failure("Passing values to option " + name + " from " + origin + " is not supported.");
                    }
                    optionValue = value;
                }
                String builderOption = option.builderOption();
                if (optionValue != null) {
                    Object transformed = optionValue;
                    for (Function<Object, Object> transformer : option.transformers()) {
                        transformed = transformer.apply(transformed);
                    }
                    builderOption += transformed.toString();
                }
                return builderOption;
            }
        }
        return null;
    }

    /** {@code -H:Name=value} becomes {@code -H:Name@origin=value}, so the builder names where an option came from. */
    private static String withOrigin(String option, String origin) {
        if (origin == null || !option.startsWith(OH)) {
            return option;
        }
        char first = option.length() > OH.length() ? option.charAt(OH.length()) : 0;
        if (first == '+' || first == '-') {
            return option + "@" + origin;
        }
        int eq = option.indexOf('=');
        if (eq < 0) {
            throw new Failure("Malformed native-image hosted-option '" + option + "' ('=' missing after option name) from " + origin);
        }
        return option.substring(0, eq) + "@" + origin + option.substring(eq);
    }

    // ---- the builder's command line (NativeImage.completeImageBuild and buildImage) -----------------------------------

    private List<String> completeCommand() throws IOException {
        Files.createDirectories(settings.out.resolve("tmp"));
        // the image name: the leftover argument (Quarkus gives it before -jar), as the driver does in jar mode
        if (!jarMode) {
            throw new Failure("native-image.args has no -jar: not Quarkus's native sources");
        }
        if (leftovers.size() > 1) {
            throw new Failure("Unrecognized option(s): " + leftovers.subList(1, leftovers.size()));
        }
        if (!leftovers.isEmpty()) {
            builderArgs.add(withOrigin(OH + "Name=" + leftovers.get(0), "explicit image name"));
        }
        // the driver's first builder argument (empty directories here: SubstrateVM's C libraries and the static JDK
        // libraries ship only with a GraalVM or Mandrel distribution, and only the link needs them)
        Path clibraries = settings.javaHome.resolve("lib/svm/clibraries");
        builderArgs.add(0, OH + "CLibraryPath=" + Stream.of("linux-amd64/glibc", "linux-amd64", "")
                .map(sub -> clibraries.resolve(sub).toString()).collect(Collectors.joining(",")));
        builderArgs.add(1, withOrigin(OH + "Path=" + settings.out, OptionOrigin.originDriver));
        builderArgs.add(withOrigin(OH + "ImageBuildID=" + SubstrateUtil.getUUIDFromString(String.join(" ", builderArgs)),
                OptionOrigin.originDriver));

        List<String> javaArgs = new ArrayList<>();
        javaArgs.add("-XX:+UnlockExperimentalVMOptions");
        javaArgs.add("-XX:+EnableJVMCI");
        javaArgs.add("-XX:-UseJVMCICompiler");
        Set<String> builderModules = builderModuleNames(builderJars().toArray(Path[]::new));
        javaArgs.addAll(addExports(builderModules));
        javaArgs.addAll(builderJavaArgs);
        javaArgs.add("--upgrade-module-path");
        javaArgs.add(compilerJar().toString());
        javaArgs.add("-Djdk.internal.lambda.disableEagerInitialization=true");
        javaArgs.add("-Djdk.internal.lambda.eagerlyInitialize=false");
        javaArgs.add("-Djava.lang.invoke.InnerClassLambdaMetafactory.initializeLambdas=false");
        javaArgs.add("-Djava.lang.invoke.MethodHandle.DONT_INLINE_THRESHOLD=-1");
        javaArgs.add("-Djava.lang.invoke.MethodHandle.PROFILE_GWT=false");
        if (enableNativeAccessAllUnnamed) {
            javaArgs.add("--enable-native-access=" + ALL_UNNAMED);
        }
        javaArgs.addAll(customJavaArgs);
        javaArgs.add("--add-modules=ALL-DEFAULT");
        javaArgs.add("--enable-native-access=" + String.join(",", builderModules));
        javaArgs.add("--module-path");
        javaArgs.add(builderJars().stream().filter(p -> !p.equals(compilerJar())).map(Path::toString).collect(Collectors.joining(":")));
        javaArgs.add("--module");
        javaArgs.add(BUILDER_MODULE + "/" + NativeImageGeneratorRunner.class.getName());
        javaArgs.add(SubstrateOptions.KEEP_ALIVE_PREFIX);
        javaArgs.add("/proc/" + ProcessHandle.current().pid() + "/comm");

        List<String> imageArgs = new ArrayList<>();
        imageArgs.add(SubstrateOptions.IMAGE_CLASSPATH_PREFIX);
        imageArgs.add(imageClasspath.stream().map(Path::toString).collect(Collectors.joining(":")));
        imageArgs.addAll(builderArgs);

        Path vmArgs = settings.out.resolve("vminvocation.args");
        Files.writeString(vmArgs, javaArgs.stream().map(SubstrateUtil::quoteShellArg).collect(Collectors.joining("\n")));
        Path builderArgsFile = settings.out.resolve("native-image.args");
        Files.writeString(builderArgsFile, String.join("\0", imageArgs));

        List<String> command = new ArrayList<>();
        command.add(settings.javaHome.resolve("bin/java").toString());
        command.add("@" + vmArgs);
        command.add(NativeImageGeneratorRunner.IMAGE_BUILDER_ARG_FILE_OPTION + builderArgsFile);
        return command;
    }

    private static Set<String> builderModuleNames(Path... jars) {
        Set<String> names = new TreeSet<>();
        for (ModuleReference ref : ModuleFinder.of(jars).findAll()) {
            names.add(ref.descriptor().name());
        }
        return names;
    }

    /**
     * The driver opens the JDK's internals to the builder with a list generated when GraalVM is built (the
     * requiresConcealed entries of its modules, in the driver's graal-compiler-flags-*.config). That list is not
     * published; this exports every package the JDK's modules do not export to everyone, to the builder's modules only
     * (never to ALL-UNNAMED, so the application's code gets no access it would not get from the real driver).
     */
    private static List<String> addExports(Set<String> builderModules) {
        String targets = String.join(",", builderModules);
        List<String> exports = new ArrayList<>();
        for (Module module : ModuleLayer.boot().modules().stream().sorted((a, b) -> a.getName().compareTo(b.getName())).toList()) {
            ModuleDescriptor descriptor = module.getDescriptor();
            if (builderModules.contains(module.getName()) || ModuleFinder.ofSystem().find(module.getName()).isEmpty()) {
                continue;
            }
            Set<String> open = descriptor.exports().stream().filter(e -> !e.isQualified()).map(ModuleDescriptor.Exports::source)
                    .collect(Collectors.toSet());
            for (String pkg : new TreeSet<>(descriptor.packages())) {
                if (!open.contains(pkg)) {
                    exports.add("--add-exports=" + module.getName() + "/" + pkg + "=" + targets);
                }
            }
        }
        return exports;
    }

    private List<Path> builderJars() {
        try (Stream<Path> jars = Files.list(settings.builderJars)) {
            return jars.filter(p -> p.toString().endsWith(".jar")).sorted().toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private Path compilerJar() {
        return builderJars().stream().filter(p -> p.getFileName().toString().startsWith("compiler-")).findFirst()
                .orElseThrow(() -> new Failure("no compiler-*.jar (" + COMPILER_MODULE + ") in " + settings.builderJars));
    }

    /** The svm jar's Implementation-Version (its manifest keeps it in the section named "svm"). */
    private String builderVersion() {
        Path svm = builderJars().stream().filter(p -> p.getFileName().toString().startsWith("svm-")
                && Character.isDigit(p.getFileName().toString().charAt(4))).findFirst()
                .orElseThrow(() -> new Failure("no svm-<version>.jar in " + settings.builderJars));
        try (JarFile jar = new JarFile(svm.toFile())) {
            var manifest = jar.getManifest();
            String version = manifest.getMainAttributes().getValue("Implementation-Version");
            for (Attributes section : manifest.getEntries().values()) {
                version = version != null ? version : section.getValue("Implementation-Version");
            }
            if (version == null) {
                throw new Failure("no Implementation-Version in " + svm);
            }
            return version;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    // ---- running the builder and reporting what it did -----------------------------------------------------------------

    private int build(List<String> command) throws IOException, InterruptedException {
        // from the sources' directory, as `cd target/native-sources && native-image $(cat native-image.args)` would
        ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true).directory(settings.sources.toFile());
        Map<String, String> env = pb.environment();
        Map<String, String> kept = new LinkedHashMap<>();
        for (String key : List.of("PATH", "HOME", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "TMPDIR")) {
            if (env.containsKey(key)) {
                kept.put(key, env.get(key));
            }
        }
        env.clear();
        env.putAll(kept);
        env.put("USE_NATIVE_IMAGE_JAVA_PLATFORM_MODULE_SYSTEM", "true");
        Path driverTemp = Files.createDirectories(settings.out.resolve("driver-tmp"));
        env.put("DRIVER_TEMP_DIR_ENV_VARIABLE", driverTemp.toString());

        Instant start = Instant.now();
        Process process = pb.start();
        AtomicLong peakKiB = new AtomicLong();
        Thread sampler = Thread.ofPlatform().daemon().start(() -> samplePeak(process, peakKiB));
        List<String> stages = new ArrayList<>();
        Path log = settings.out.resolve("builder.log");
        try (BufferedReader out = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
                PrintStream logFile = new PrintStream(Files.newOutputStream(log), true, StandardCharsets.UTF_8)) {
            String line;
            while ((line = out.readLine()) != null) {
                System.out.println(line);
                logFile.println(line);
                Matcher m = STAGE.matcher(line);
                if (m.find()) {
                    Matcher done = STAGE_DONE.matcher(line);
                    stages.add(String.format(Locale.ROOT, "[%s/%s] %s: %s", m.group(1), m.group(2), m.group(3).trim(),
                            done.find() ? done.group(1) + " s, " + done.group(2) + " GB of heap in use after it, done at "
                                    + clock(Duration.between(start, Instant.now()))
                                    : "not finished"));
                }
            }
        }
        int exit = process.waitFor();
        sampler.interrupt();
        Duration wall = Duration.between(start, Instant.now());
        Path object = findObjectFile();

        StringBuilder report = new StringBuilder();
        report.append("\n==== native-image builder ").append(builderVersion()).append(" (Maven Central jars) on Java ")
                .append(Runtime.version()).append(", -Xmx").append(settings.xmx).append(" ====\n");
        report.append("image class path: ").append(imageClasspath.size()).append(" entries; META-INF/native-image files applied: ")
                .append(appliedMetaInf.stream().filter(s -> !s.startsWith("excluded")).count()).append(" (")
                .append(appliedMetaInf.stream().filter(s -> s.startsWith("excluded")).count()).append(" excluded by --exclude-config)\n");
        report.append("stages reached:\n");
        stages.forEach(s -> report.append("  ").append(s).append('\n'));
        report.append("wall time: ").append(clock(wall)).append("; peak RSS of the builder: ")
                .append(String.format(Locale.ROOT, "%.2f GiB", peakKiB.get() / 1024.0 / 1024.0)).append('\n');
        report.append("builder exit code: ").append(exit).append('\n');
        int result;
        if (exit == 0 && object != null) {
            // the builder leaves its last stage at the object file, before it would print that stage's line
            report.append("  [8/8] Creating image: stopped once the relocatable object was written (-H:+ExitAfterRelocatableImageWrite)\n");
            report.append("object file: ").append(object).append(" (").append(Files.size(object) / (1024 * 1024)).append(" MiB)\n");
            report.append("RESULT: compiled to object code; not linked: no static JDK libraries on this machine\n");
            result = 0;
        } else {
            report.append("RESULT: FAILED: ").append(exit != 0 ? "the builder stopped with exit code " + exit : "no object file was written")
                    .append(stages.isEmpty() ? " before its first stage" : failedStage(stages.get(stages.size() - 1)))
                    .append(" (full output: ").append(log).append(")\n");
            result = exit != 0 ? exit : 1;
        }
        System.out.print(report);
        Files.writeString(settings.out.resolve("summary.txt"), report.toString().stripLeading());
        return result;
    }

    private static String failedStage(String last) {
        return (last.endsWith("not finished") ? " in " : " after ") + last.replaceAll(":.*", "");
    }

    /** VmHWM of the builder process (its peak resident set), read until it exits. */
    private static void samplePeak(Process process, AtomicLong peakKiB) {
        Path status = Path.of("/proc/" + process.pid() + "/status");
        while (process.isAlive()) {
            try {
                for (String line : Files.readAllLines(status)) {
                    if (line.startsWith("VmHWM:")) {
                        peakKiB.accumulateAndGet(Long.parseLong(line.replaceAll("\\D", "")), Math::max);
                    }
                }
                Thread.sleep(500);
            } catch (IOException | InterruptedException | NumberFormatException e) {
                return;
            }
        }
    }

    private Path findObjectFile() throws IOException {
        try (Stream<Path> files = Files.walk(settings.out.resolve("tmp"))) {
            return files.filter(p -> p.toString().endsWith(".o")).findFirst().orElse(null);
        }
    }

    private static String clock(Duration d) {
        return String.format(Locale.ROOT, "%d:%02d", d.toMinutes(), d.toSecondsPart());
    }

    // ---- settings -------------------------------------------------------------------------------------------------------

    record Settings(Path sources, Path builderJars, Path out, Path javaHome, String xmx, boolean dryRun, List<String> extraArgs) {
        static Settings parse(String[] args) {
            Map<String, String> values = new LinkedHashMap<>();
            List<String> extra = new ArrayList<>();
            boolean dryRun = false;
            for (int i = 0; i < args.length; i++) {
                switch (args[i]) {
                    case "--dry-run" -> dryRun = true;
                    case "--" -> {
                        extra.addAll(Arrays.asList(args).subList(i + 1, args.length));
                        i = args.length;
                    }
                    default -> {
                        if (!args[i].startsWith("--") || i + 1 >= args.length) {
                            throw new Failure("usage: NativeImageDriver --sources DIR --builder-jars DIR --builder-java-home DIR --out DIR [--xmx SIZE] [--dry-run] [-- native-image args]");
                        }
                        values.put(args[i].substring(2), args[++i]);
                    }
                }
            }
            Path out = Path.of(values.getOrDefault("out", "target/native-object")).toAbsolutePath().normalize();
            return new Settings(Path.of(values.getOrDefault("sources", "target/native-sources")).toAbsolutePath().normalize(),
                    Path.of(values.getOrDefault("builder-jars", "target/native-builder/lib")).toAbsolutePath().normalize(), out,
                    Path.of(values.getOrDefault("builder-java-home", System.getProperty("java.home"))).toAbsolutePath().normalize(),
                    values.getOrDefault("xmx", "8g"), dryRun, extra);
        }
    }

    /** A problem with the input: printed as one line, without a stack trace. */
    static final class Failure extends RuntimeException {
        Failure(String message) {
            super(message, null, false, false);
        }
    }

    static {
        Thread.setDefaultUncaughtExceptionHandler((t, e) -> {
            if (e instanceof Failure) {
                System.err.println("Error: " + e.getMessage());
                System.err.println("RESULT: FAILED before the builder started");
                System.exit(2);
            }
            e.printStackTrace();
            System.exit(3);
        });
    }
}
