package ai.atelier.storage;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

import software.amazon.awssdk.http.SdkHttpMethod;
import software.amazon.awssdk.http.SdkHttpRequest;

/** A signed request sent without its URL parsed back: the path, query, port (the scheme's own when none was set) and scheme an HTTP client gets are the SDK's own. */
class UrlSignerTest {

    private static SdkHttpRequest.Builder put(String protocol, int port) {
        SdkHttpRequest.Builder b = SdkHttpRequest.builder().method(SdkHttpMethod.PUT).protocol(protocol).host("bucket.s3.example.com")
                .encodedPath("/tenants/t/jobs/j/outputs/0.mp4");
        return port > 0 ? b.port(port) : b;
    }

    @Test
    void thePathAndQueryAreWhatTheSdksUrlCarries() {
        SdkHttpRequest part = put("https", 9443).putRawQueryParameter("partNumber", "3").putRawQueryParameter("uploadId", "a/b+c= d~").build();
        java.net.URI uri = part.getUri();
        assertThat(UrlSigner.requestUri(part)).isEqualTo(uri.getRawPath() + "?" + uri.getRawQuery())
                .isEqualTo("/tenants/t/jobs/j/outputs/0.mp4?partNumber=3&uploadId=a%2Fb%2Bc%3D%20d~");
        assertThat(part.port()).isEqualTo(uri.getPort()).isEqualTo(9443);
        assertThat(UrlSigner.ssl(part)).isTrue();

        SdkHttpRequest plain = put("http", -1).build();
        assertThat(UrlSigner.requestUri(plain)).isEqualTo(plain.getUri().getRawPath()).doesNotContain("?");
        assertThat(plain.port()).isEqualTo(80);
        assertThat(UrlSigner.ssl(plain)).isFalse();
        assertThat(put("https", -1).build().port()).isEqualTo(443);
    }
}
