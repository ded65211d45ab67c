/*
 * The two native methods of the builder's com.oracle.svm.hosted.ProgressReporterCHelper, which a GraalVM distribution
 * ships as lib/svm/builder/lib/libreporterchelper.so and the Maven Central jars do not. The builder reads its own peak
 * RSS from it for the closing statistics, and the terminal's width for its progress output. Written for this project:
 * compile-object builds it with the machine's C compiler.
 */
#include <jni.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <unistd.h>

/* Columns of the terminal on standard output, or -1 when it is not a terminal (the builder then uses its default). */
JNIEXPORT jint JNICALL Java_com_oracle_svm_hosted_ProgressReporterCHelper_getTerminalWindowColumns0(JNIEnv *env, jclass cls) {
    struct winsize size;
    if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &size) == 0 && size.ws_col > 0) {
        return size.ws_col;
    }
    return -1;
}

/* Peak resident set size of this process in bytes (Linux reports ru_maxrss in KiB), or -1 if it cannot be read. */
JNIEXPORT jlong JNICALL Java_com_oracle_svm_hosted_ProgressReporterCHelper_getPeakRSS0(JNIEnv *env, jclass cls) {
    struct rusage usage;
    if (getrusage(RUSAGE_SELF, &usage) == 0) {
        return (jlong) usage.ru_maxrss * 1024;
    }
    return -1;
}
