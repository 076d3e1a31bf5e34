package io.sagegate.testsupport.aws;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.sagegate.testsupport.PythonTools;
import io.sagegate.testsupport.aws.SigV4Verifier.Failure;
import io.sagegate.testsupport.aws.SigV4Verifier.Request;
import io.sagegate.testsupport.aws.SigV4Verifier.Result;
import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.http.ContentStreamProvider;
import software.amazon.awssdk.http.SdkHttpMethod;
import software.amazon.awssdk.http.SdkHttpRequest;
import software.amazon.awssdk.http.auth.aws.signer.AwsV4HttpSigner;
import software.amazon.awssdk.http.auth.spi.signer.SignedRequest;
import software.amazon.awssdk.identity.spi.AwsSessionCredentialsIdentity;

class SigV4VerifierTest {

  // AWS's published SigV4 test suite credentials ("get-vanilla"); example values, not secrets.
  private static final String SUITE_KEY = "AKIDEXAMPLE";
  private static final String SUITE_SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";

  private static final String KEY = "ASIAEMULATORTESTKEY1";
  private static final String SECRET = "test-secret-for-the-verifier-not-real-0001";
  private static final String TOKEN = "session-token-1";
  private static final byte[] BODY = "{\"inputs\":\"hello\"}".getBytes(StandardCharsets.UTF_8);

  private final SigV4Verifier now = new SigV4Verifier(Clock.systemUTC());

  private static String secretOf(String key) {
    return switch (key) {
      case SUITE_KEY -> SUITE_SECRET;
      case KEY -> SECRET;
      default -> null;
    };
  }

  @Test
  void awsTestSuiteGetVanilla() {
    // get-vanilla from the AWS SigV4 test suite; expected signature cross-checked in several
    // independent public implementations (and awscrt's own tests).
    Map<String, List<String>> headers = new LinkedHashMap<>();
    headers.put("Host", List.of("example.amazonaws.com"));
    headers.put("X-Amz-Date", List.of("20150830T123600Z"));
    headers.put(
        "Authorization",
        List.of(
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/"
                + "us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, "
                + "Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"));
    SigV4Verifier at =
        new SigV4Verifier(Clock.fixed(Instant.parse("2015-08-30T12:36:00Z"), ZoneOffset.UTC));
    Result r =
        at.verify(
            new Request("GET", "/", "", headers, null), "service", SigV4VerifierTest::secretOf);
    assertTrue(r.valid(), r.message());
    assertEquals("AKIDEXAMPLE", r.accessKeyId());
    assertEquals(
        "GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\n"
            + "host;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        r.canonicalRequest());

    // Same request, later than 15 minutes: refused as expired.
    SigV4Verifier late =
        new SigV4Verifier(Clock.fixed(Instant.parse("2015-08-30T12:51:01Z"), ZoneOffset.UTC));
    assertEquals(
        Failure.REQUEST_EXPIRED,
        late.verify(
                new Request("GET", "/", "", headers, null), "service", SigV4VerifierTest::secretOf)
            .failure());
    // Wrong secret: mismatch.
    assertEquals(
        Failure.SIGNATURE_MISMATCH,
        at.verify(new Request("GET", "/", "", headers, null), "service", k -> "wrong").failure());
    // A date that is not signed could be replayed with a new one: refused.
    Map<String, List<String>> dateUnsigned = new LinkedHashMap<>(headers);
    dateUnsigned.put(
        "Authorization",
        List.of(
            headers
                .get("Authorization")
                .get(0)
                .replace("SignedHeaders=host;x-amz-date", "SignedHeaders=host")));
    assertEquals(
        Failure.INCOMPLETE_SIGNATURE,
        at.verify(
                new Request("GET", "/", "", dateUnsigned, null),
                "service",
                SigV4VerifierTest::secretOf)
            .failure());
    // Signed for another service.
    assertEquals(
        Failure.INCOMPLETE_SIGNATURE,
        at.verify(
                new Request("GET", "/", "", headers, null),
                "sagemaker",
                SigV4VerifierTest::secretOf)
            .failure());
  }

  @Test
  void queryIsSortedAndStrictlyEncoded() {
    assertEquals(
        "Action=AssumeRole&a=%20b&a=c&z=1",
        SigV4Verifier.canonicalQuery("z=1&a=c&a=%20b&Action=AssumeRole"));
    assertEquals(
        "/endpoints/my%253Aep/invocations",
        SigV4Verifier.canonicalUri("/endpoints/my%3Aep/invocations"));
  }

  @Test
  void acceptsTheJavaSdkSignerAndRefusesTampering() {
    SdkHttpRequest http =
        SdkHttpRequest.builder()
            .method(SdkHttpMethod.POST)
            .uri(URI.create("http://127.0.0.1:4566"))
            .encodedPath("/endpoints/my%3Aep/invocations")
            .putRawQueryParameter("b", "2 3")
            .putRawQueryParameter("a", "1")
            .putHeader("Content-Type", "application/json")
            .putHeader("X-Amzn-SageMaker-Custom-Attributes", "  trace  id=1  ")
            .build();
    SignedRequest signed =
        AwsV4HttpSigner.create()
            .sign(
                r ->
                    r.identity(AwsSessionCredentialsIdentity.create(KEY, SECRET, TOKEN))
                        .request(http)
                        .payload(ContentStreamProvider.fromByteArray(BODY))
                        .putProperty(AwsV4HttpSigner.REGION_NAME, "us-east-1")
                        .putProperty(AwsV4HttpSigner.SERVICE_SIGNING_NAME, "sagemaker"));
    SdkHttpRequest s = signed.request();
    String query = s.encodedQueryParameters().orElse("");
    Request good = new Request("POST", s.encodedPath(), query, s.headers(), BODY);
    Result r = now.verify(good, "sagemaker", SigV4VerifierTest::secretOf);
    assertTrue(r.valid(), r.message());
    assertTrue(
        r.canonicalRequest().contains("/endpoints/my%253Aep/invocations"), r.canonicalRequest());

    assertTamperingIsCaught(good);
  }

  @Test
  void unsignedPayloadOnlyWhenAllowed() {
    SdkHttpRequest http =
        SdkHttpRequest.builder()
            .method(SdkHttpMethod.POST)
            .uri(URI.create("https://runtime.sagemaker.us-east-1.amazonaws.com"))
            .encodedPath("/endpoints/ep/invocations")
            .build();
    SignedRequest signed =
        AwsV4HttpSigner.create()
            .sign(
                r ->
                    r.identity(AwsSessionCredentialsIdentity.create(KEY, SECRET, TOKEN))
                        .request(http)
                        .payload(ContentStreamProvider.fromByteArray(BODY))
                        .putProperty(AwsV4HttpSigner.PAYLOAD_SIGNING_ENABLED, false)
                        .putProperty(AwsV4HttpSigner.REGION_NAME, "us-east-1")
                        .putProperty(AwsV4HttpSigner.SERVICE_SIGNING_NAME, "sagemaker"));
    SdkHttpRequest s = signed.request();
    assertEquals(List.of("UNSIGNED-PAYLOAD"), s.headers().get("x-amz-content-sha256"));
    Request req = new Request("POST", s.encodedPath(), "", s.headers(), BODY);
    Result refused = now.verify(req, "sagemaker", SigV4VerifierTest::secretOf);
    assertEquals(Failure.SIGNATURE_MISMATCH, refused.failure());
    assertTrue(refused.message().contains("UNSIGNED-PAYLOAD"));
    SigV4Verifier lenient = new SigV4Verifier(Clock.systemUTC(), true);
    Result ok = lenient.verify(req, "sagemaker", SigV4VerifierTest::secretOf);
    assertTrue(ok.valid(), ok.message());
    // The body is then not covered, but every signed header still is.
    Map<String, List<String>> forged = new LinkedHashMap<>(s.headers());
    forged.put("X-Amz-Security-Token", List.of("other"));
    assertEquals(
        Failure.SIGNATURE_MISMATCH,
        lenient
            .verify(
                new Request("POST", s.encodedPath(), "", forged, BODY),
                "sagemaker",
                SigV4VerifierTest::secretOf)
            .failure());
  }

  @Test
  void acceptsBotocoreSignerAndRefusesTampering() throws Exception {
    String url = "http://127.0.0.1:4566/endpoints/my-ep/invocations-response-stream?x=1";
    String script =
        String.join(
            "\n",
            "import json, sys",
            "from botocore.auth import SigV4Auth",
            "from botocore.awsrequest import AWSRequest",
            "from botocore.credentials import Credentials",
            "url, body, key, secret, token = sys.argv[1:6]",
            "req = AWSRequest(method='POST', url=url, data=body.encode(),",
            "                 headers={'Content-Type': 'application/json',",
            "                          'X-Amzn-SageMaker-Accept': 'application/json'})",
            "SigV4Auth(Credentials(key, secret, token), 'sagemaker', 'eu-west-1').add_auth(req)",
            "print(json.dumps(dict(req.headers.items())))");
    String out = python(script, url, new String(BODY, StandardCharsets.UTF_8), KEY, SECRET, TOKEN);
    JsonNode json = new ObjectMapper().readTree(out);
    Map<String, List<String>> headers = new LinkedHashMap<>();
    json.fields().forEachRemaining(e -> headers.put(e.getKey(), List.of(e.getValue().asText())));
    // An HTTP client sends Host from the URL; botocore signs it without storing it.
    headers.put("Host", List.of("127.0.0.1:4566"));
    assertTrue(headers.containsKey("X-Amz-Security-Token"), headers.keySet().toString());
    Request good =
        new Request("POST", "/endpoints/my-ep/invocations-response-stream", "x=1", headers, BODY);
    Result r = now.verify(good, "sagemaker", SigV4VerifierTest::secretOf);
    assertTrue(r.valid(), r.message());
    assertEquals("eu-west-1", r.region());

    assertTamperingIsCaught(good);
  }

  private void assertTamperingIsCaught(Request good) {
    byte[] otherBody = "{\"inputs\":\"hellO\"}".getBytes(StandardCharsets.UTF_8);
    Result body =
        now.verify(
            new Request(good.method(), good.rawPath(), good.rawQuery(), good.headers(), otherBody),
            "sagemaker",
            SigV4VerifierTest::secretOf);
    assertEquals(Failure.SIGNATURE_MISMATCH, body.failure(), body.message());

    Result path =
        now.verify(
            new Request(
                good.method(),
                good.rawPath().replace("my", "My"),
                good.rawQuery(),
                good.headers(),
                good.body()),
            "sagemaker",
            SigV4VerifierTest::secretOf);
    assertEquals(Failure.SIGNATURE_MISMATCH, path.failure());

    Map<String, List<String>> headers = new LinkedHashMap<>(good.headers());
    String tokenHeader =
        headers.keySet().stream()
            .filter(k -> k.equalsIgnoreCase("X-Amz-Security-Token"))
            .findFirst()
            .orElseThrow();
    headers.put(tokenHeader, List.of("another-token"));
    Result header =
        now.verify(
            new Request(good.method(), good.rawPath(), good.rawQuery(), headers, good.body()),
            "sagemaker",
            SigV4VerifierTest::secretOf);
    assertEquals(Failure.SIGNATURE_MISMATCH, header.failure());

    Result secret = now.verify(good, "sagemaker", k -> "not-the-secret");
    assertEquals(Failure.SIGNATURE_MISMATCH, secret.failure());

    Result unknown = now.verify(good, "sagemaker", k -> null);
    assertEquals(Failure.UNKNOWN_ACCESS_KEY, unknown.failure());

    Map<String, List<String>> noAuth = new LinkedHashMap<>(good.headers());
    noAuth.keySet().removeIf(k -> k.equalsIgnoreCase("Authorization"));
    Result missing =
        now.verify(
            new Request(good.method(), good.rawPath(), good.rawQuery(), noAuth, good.body()),
            "sagemaker",
            SigV4VerifierTest::secretOf);
    assertEquals(Failure.MISSING_AUTHENTICATION, missing.failure());
    assertNull(missing.accessKeyId());
  }

  static String python(String script, String... args) throws IOException, InterruptedException {
    PythonTools.require();
    List<String> cmd = new ArrayList<>(List.of("python3", "-c", script));
    cmd.addAll(List.of(args));
    Process p = new ProcessBuilder(cmd).start();
    byte[] out = p.getInputStream().readAllBytes();
    byte[] err = p.getErrorStream().readAllBytes();
    if (p.waitFor() != 0) {
      throw new AssertionError("python3 failed: " + new String(err, StandardCharsets.UTF_8));
    }
    return new String(out, StandardCharsets.UTF_8);
  }
}
