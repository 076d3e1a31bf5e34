package io.sagegate.testsupport.aws;

import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Function;

/**
 * Checks a SageMaker bearer token as the emulator's OpenAI path takes it, independently of the
 * gateway's minting code: {@code sagemaker-api-key-} + base64 of a SigV4 query-presigned {@code
 * POST sagemaker.amazonaws.com/?Action=CallWithBearerToken...} followed by {@code &Version=1} (with
 * or without a leading {@code https://}). The presigned signature is recomputed from the secret of
 * the access key it names (service {@code sagemaker}, host the only signed header, the payload hash
 * of an empty body, as SigV4 presigning of a request without body has it), the {@code
 * X-Amz-Expires} range (1 s to 12 h) and the expiry checked against the clock.
 */
public final class BearerTokenVerifier {

  public static final String PREFIX = "sagemaker-api-key-";
  private static final String HOST = "sagemaker.amazonaws.com";
  private static final DateTimeFormatter AMZ_DATE =
      DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmss'Z'").withZone(ZoneOffset.UTC);
  private static final String EMPTY_SHA256 =
      "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

  /** A verified token: whose it is, for which region, and its session token. */
  public record Token(String accessKeyId, String region, String sessionToken, Instant expires) {}

  /** Why a token was refused; the message names what is wrong. */
  public static final class Refused extends Exception {
    public final int status;

    Refused(int status, String message) {
      super(message);
      this.status = status;
    }
  }

  private final Clock clock;

  public BearerTokenVerifier(Clock clock) {
    this.clock = clock;
  }

  /**
   * @param secrets the secret access key of an access key id, or null if unknown
   * @throws Refused with 401 (malformed, unknown key, bad signature, expired)
   */
  public Token verify(String bearer, Function<String, String> secrets) throws Refused {
    if (bearer == null || !bearer.startsWith(PREFIX)) {
      throw new Refused(401, "The bearer token is not a SageMaker API key");
    }
    String url;
    try {
      url =
          new String(
              Base64.getDecoder().decode(bearer.substring(PREFIX.length())),
              StandardCharsets.UTF_8);
    } catch (IllegalArgumentException e) {
      throw new Refused(401, "The bearer token is not base64");
    }
    if (url.startsWith("https://")) {
      url = url.substring("https://".length());
    }
    if (!url.startsWith(HOST + "/?")) {
      throw new Refused(401, "The bearer token is not for " + HOST + "/");
    }
    if (!url.endsWith("&Version=1")) {
      throw new Refused(401, "The bearer token lacks &Version=1");
    }
    String query = url.substring((HOST + "/?").length(), url.length() - "&Version=1".length());
    Map<String, String> params = new LinkedHashMap<>();
    StringBuilder signedQuery = new StringBuilder();
    for (String pair : query.split("&")) {
      int eq = pair.indexOf('=');
      String name = eq < 0 ? pair : pair.substring(0, eq);
      String value =
          eq < 0
              ? ""
              : URLDecoder.decode(
                  pair.substring(eq + 1).replace("+", "%2B"), StandardCharsets.UTF_8);
      if (params.put(name, value) != null) {
        throw new Refused(401, "Parameter " + name + " appears twice");
      }
      if (!name.equals("X-Amz-Signature")) {
        signedQuery.append(signedQuery.length() == 0 ? "" : "&").append(pair);
      }
    }
    if (!"CallWithBearerToken".equals(params.get("Action"))) {
      throw new Refused(401, "Action must be CallWithBearerToken");
    }
    if (!"AWS4-HMAC-SHA256".equals(params.get("X-Amz-Algorithm"))) {
      throw new Refused(401, "X-Amz-Algorithm must be AWS4-HMAC-SHA256");
    }
    String[] scope = params.getOrDefault("X-Amz-Credential", "").split("/");
    if (scope.length != 5 || !"sagemaker".equals(scope[3]) || !"aws4_request".equals(scope[4])) {
      throw new Refused(401, "X-Amz-Credential must be KEY/DATE/REGION/sagemaker/aws4_request");
    }
    String sessionToken = params.get("X-Amz-Security-Token");
    String signedHeaders = params.get("X-Amz-SignedHeaders");
    if (!"host".equals(signedHeaders)) {
      throw new Refused(401, "X-Amz-SignedHeaders must be host, was " + signedHeaders);
    }
    Instant date;
    long expires;
    try {
      date = Instant.from(AMZ_DATE.parse(params.get("X-Amz-Date")));
      expires = Long.parseLong(params.get("X-Amz-Expires"));
    } catch (RuntimeException e) {
      throw new Refused(401, "X-Amz-Date or X-Amz-Expires is missing or malformed");
    }
    if (expires < 1 || expires > 43_200) {
      throw new Refused(401, "X-Amz-Expires must be 1 to 43200, was " + expires);
    }
    if (!params.get("X-Amz-Date").startsWith(scope[1])) {
      throw new Refused(401, "The credential scope's date is not X-Amz-Date's");
    }
    String secret = secrets.apply(scope[0]);
    if (secret == null) {
      throw new Refused(401, "The access key in the bearer token is unknown");
    }
    String canonical =
        "POST\n/\n"
            + SigV4Verifier.canonicalQuery(signedQuery.toString())
            + "\n"
            + "host:"
            + HOST
            + "\n\nhost\n"
            + EMPTY_SHA256;
    String stringToSign =
        "AWS4-HMAC-SHA256\n"
            + params.get("X-Amz-Date")
            + "\n"
            + scope[1]
            + "/"
            + scope[2]
            + "/sagemaker/aws4_request\n"
            + SigV4Verifier.hex(SigV4Verifier.sha256(canonical.getBytes(StandardCharsets.UTF_8)));
    String expected =
        SigV4Verifier.signatureHex(secret, scope[1], scope[2], "sagemaker", stringToSign);
    if (!MessageDigest.isEqual(
        expected.getBytes(StandardCharsets.UTF_8),
        params.getOrDefault("X-Amz-Signature", "").getBytes(StandardCharsets.UTF_8))) {
      throw new Refused(401, "The bearer token's signature does not match");
    }
    Instant expiry = date.plus(Duration.ofSeconds(expires));
    if (!clock.instant().isBefore(expiry)) {
      throw new Refused(401, "The bearer token has expired");
    }
    if (date.isAfter(clock.instant().plus(SigV4Verifier.MAX_CLOCK_SKEW))) {
      throw new Refused(401, "The bearer token is dated in the future");
    }
    return new Token(scope[0], scope[2], sessionToken, expiry);
  }
}
