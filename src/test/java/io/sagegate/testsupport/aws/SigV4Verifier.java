package io.sagegate.testsupport.aws;

import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * Verifies AWS Signature Version 4 ({@code Authorization: AWS4-HMAC-SHA256 ...} header form).
 *
 * <p>Hand-written from the AWS SigV4 specification ON PURPOSE: it is the test oracle for code that
 * signs with the AWS SDK's signer, so it must not share that signer's code (a bug in the SDK signer
 * or in how we drive it would otherwise verify itself). It is checked against AWS's published test
 * suite vector and against requests signed by both the Java SDK and botocore.
 *
 * <p>Rules implemented (non-S3 services): canonical URI = the path as received, URI-encoded once
 * more (so {@code %} becomes {@code %25}; the "double encoding" non-S3 services use); canonical
 * query = parameters decoded, re-encoded strictly (RFC 3986 unreserved only) and sorted by name
 * then value; canonical headers = the signed headers, lower-cased names, values trimmed with inner
 * whitespace runs collapsed, repeated headers joined by commas; payload hash = the {@code
 * x-amz-content-sha256} header if present (which must then be the body's hash) else the SHA-256 of
 * the body; {@code X-Amz-Date} within 15 minutes of the clock; HMAC comparison in constant time.
 * {@code UNSIGNED-PAYLOAD} is refused unless allowed at construction (then the body is not covered,
 * as with AWS over HTTPS). Not implemented: presigned (query-string) auth, SigV4a, chunked
 * payloads, dot-segment normalisation of the path.
 */
public final class SigV4Verifier {

  /** How far X-Amz-Date may be from the verifier's clock, as AWS allows. */
  public static final Duration MAX_CLOCK_SKEW = Duration.ofMinutes(15);

  private static final String ALGORITHM = "AWS4-HMAC-SHA256";
  private static final DateTimeFormatter AMZ_DATE =
      DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmss'Z'");
  private static final Pattern AUTHORIZATION =
      Pattern.compile(
          "AWS4-HMAC-SHA256\\s+Credential=([^,\\s]+)\\s*,\\s*SignedHeaders=([^,\\s]+)\\s*,"
              + "\\s*Signature=([0-9a-f]{64})\\s*");

  /** Why a request failed verification; the emulator maps these to each protocol's error codes. */
  public enum Failure {
    /** No Authorization header. */
    MISSING_AUTHENTICATION,
    /** Authorization header present but not a well-formed SigV4 header, or scope is wrong. */
    INCOMPLETE_SIGNATURE,
    /** The access key is not known. */
    UNKNOWN_ACCESS_KEY,
    /** X-Amz-Date missing, unparseable, or more than 15 minutes off. */
    REQUEST_EXPIRED,
    /** The recomputed signature differs. */
    SIGNATURE_MISMATCH
  }

  /**
   * The outcome. On success {@code failure} is null; {@code accessKeyId}, {@code region} are filled
   * in whenever the Authorization header could be parsed.
   */
  public record Result(
      Failure failure, String message, String accessKeyId, String region, String canonicalRequest) {
    public boolean valid() {
      return failure == null;
    }
  }

  /** A received HTTP request as it was on the wire. Header names are matched case-insensitively. */
  public record Request(
      String method,
      String rawPath,
      String rawQuery,
      Map<String, List<String>> headers,
      byte[] body) {
    public Request {
      Objects.requireNonNull(method, "method");
      Objects.requireNonNull(rawPath, "rawPath");
      Objects.requireNonNull(headers, "headers");
      body = body == null ? new byte[0] : body;
    }
  }

  /** The x-amz-content-sha256 value that leaves the body out of the signature. */
  public static final String UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD";

  private final Clock clock;
  private final boolean allowUnsignedPayload;

  /** A verifier that requires the body to be signed. */
  public SigV4Verifier(Clock clock) {
    this(clock, false);
  }

  public SigV4Verifier(Clock clock, boolean allowUnsignedPayload) {
    this.clock = Objects.requireNonNull(clock, "clock");
    this.allowUnsignedPayload = allowUnsignedPayload;
  }

  /**
   * Verifies {@code request} for {@code service}; {@code secrets} maps an access key ID to its
   * secret key, or to null if unknown.
   */
  public Result verify(Request request, String service, Function<String, String> secrets) {
    Map<String, List<String>> headers = lowerCased(request.headers());
    List<String> auth = headers.get("authorization");
    if (auth == null || auth.isEmpty()) {
      return fail(Failure.MISSING_AUTHENTICATION, "Missing Authentication Token", null, null, null);
    }
    Matcher m = AUTHORIZATION.matcher(auth.get(0).trim());
    if (!m.matches()) {
      return fail(
          Failure.INCOMPLETE_SIGNATURE,
          "Authorization header is not a well-formed AWS4-HMAC-SHA256 signature",
          null,
          null,
          null);
    }
    String[] scope = m.group(1).split("/", -1);
    if (scope.length != 5 || !"aws4_request".equals(scope[4])) {
      return fail(
          Failure.INCOMPLETE_SIGNATURE,
          "Credential must be AccessKeyId/date/region/service/aws4_request",
          null,
          null,
          null);
    }
    String accessKeyId = scope[0];
    String scopeDate = scope[1];
    String region = scope[2];
    if (!service.equals(scope[3])) {
      return fail(
          Failure.INCOMPLETE_SIGNATURE,
          "Credential should be scoped to correct service: '"
              + service
              + "', not '"
              + scope[3]
              + "'",
          accessKeyId,
          region,
          null);
    }
    String secret = secrets.apply(accessKeyId);
    if (secret == null) {
      return fail(
          Failure.UNKNOWN_ACCESS_KEY,
          "The security token included in the request is invalid (unknown access key "
              + accessKeyId
              + ")",
          accessKeyId,
          region,
          null);
    }
    String amzDate = first(headers, "x-amz-date");
    if (amzDate == null) {
      return fail(
          Failure.INCOMPLETE_SIGNATURE, "X-Amz-Date header is missing", accessKeyId, region, null);
    }
    Instant signedAt;
    try {
      signedAt = LocalDateTime.parse(amzDate, AMZ_DATE).toInstant(ZoneOffset.UTC);
    } catch (DateTimeParseException e) {
      return fail(
          Failure.INCOMPLETE_SIGNATURE,
          "X-Amz-Date '" + amzDate + "' is not yyyyMMddTHHmmssZ",
          accessKeyId,
          region,
          null);
    }
    if (!amzDate.startsWith(scopeDate)) {
      return fail(
          Failure.SIGNATURE_MISMATCH,
          "Credential date " + scopeDate + " does not match X-Amz-Date " + amzDate,
          accessKeyId,
          region,
          null);
    }
    Duration skew = Duration.between(signedAt, clock.instant()).abs();
    if (skew.compareTo(MAX_CLOCK_SKEW) > 0) {
      return fail(
          Failure.REQUEST_EXPIRED,
          "Signature expired: " + amzDate + " is more than 15 minutes from the server time",
          accessKeyId,
          region,
          null);
    }
    List<String> signedHeaders = List.of(m.group(2).split(";"));
    if (!signedHeaders.contains("host") || !signedHeaders.contains("x-amz-date")) {
      return fail(
          Failure.INCOMPLETE_SIGNATURE,
          "SignedHeaders must include host and x-amz-date",
          accessKeyId,
          region,
          null);
    }
    for (String name : signedHeaders) {
      if (!name.equals(name.toLowerCase(Locale.ROOT)) || !headers.containsKey(name)) {
        return fail(
            Failure.SIGNATURE_MISMATCH,
            "signed header '" + name + "' is absent or not lower-case",
            accessKeyId,
            region,
            null);
      }
    }
    if (!isSorted(signedHeaders)) {
      return fail(
          Failure.SIGNATURE_MISMATCH, "SignedHeaders are not sorted", accessKeyId, region, null);
    }
    String bodyHash = hex(sha256(request.body()));
    String payloadHash = first(headers, "x-amz-content-sha256");
    if (payloadHash == null) {
      payloadHash = bodyHash;
    } else if (payloadHash.equals(UNSIGNED_PAYLOAD)) {
      if (!allowUnsignedPayload) {
        return fail(
            Failure.SIGNATURE_MISMATCH,
            "x-amz-content-sha256 is UNSIGNED-PAYLOAD, which"
                + " this verifier was told to refuse: sign the body",
            accessKeyId,
            region,
            null);
      }
    } else if (!payloadHash.equals(bodyHash)) {
      return fail(
          Failure.SIGNATURE_MISMATCH,
          "x-amz-content-sha256 '"
              + payloadHash
              + "' is not the SHA-256 of the body (chunked payloads are not accepted)",
          accessKeyId,
          region,
          null);
    }

    StringBuilder canonicalHeaders = new StringBuilder();
    for (String name : signedHeaders) {
      List<String> values = new ArrayList<>();
      for (String v : headers.get(name)) {
        values.add(v.trim().replaceAll("\\s+", " "));
      }
      canonicalHeaders.append(name).append(':').append(String.join(",", values)).append('\n');
    }
    String canonicalRequest =
        String.join(
            "\n",
            request.method().toUpperCase(Locale.ROOT),
            canonicalUri(request.rawPath()),
            canonicalQuery(request.rawQuery()),
            canonicalHeaders.toString(),
            String.join(";", signedHeaders),
            payloadHash);
    String credentialScope = scopeDate + "/" + region + "/" + service + "/aws4_request";
    String stringToSign =
        String.join(
            "\n",
            ALGORITHM,
            amzDate,
            credentialScope,
            hex(sha256(canonicalRequest.getBytes(StandardCharsets.UTF_8))));
    byte[] expected = signature(secret, scopeDate, region, service, stringToSign);
    byte[] given = HexFormat.of().parseHex(m.group(3));
    if (!MessageDigest.isEqual(expected, given)) {
      return fail(
          Failure.SIGNATURE_MISMATCH,
          "The request signature we calculated does not match"
              + " the signature you provided. Check your AWS Secret Access Key and signing method.",
          accessKeyId,
          region,
          canonicalRequest);
    }
    return new Result(null, "ok", accessKeyId, region, canonicalRequest);
  }

  /**
   * The hex signature of {@code stringToSign}: exposed so the spec's key derivation is testable.
   */
  public static String signatureHex(
      String secret, String date, String region, String service, String stringToSign) {
    return hex(signature(secret, date, region, service, stringToSign));
  }

  private static byte[] signature(
      String secret, String date, String region, String service, String stringToSign) {
    byte[] kDate = hmac(("AWS4" + secret).getBytes(StandardCharsets.UTF_8), date);
    byte[] kRegion = hmac(kDate, region);
    byte[] kService = hmac(kRegion, service);
    byte[] kSigning = hmac(kService, "aws4_request");
    return hmac(kSigning, stringToSign);
  }

  /** Each byte of the received (already encoded) path is encoded again, '/' kept. */
  static String canonicalUri(String rawPath) {
    if (rawPath == null || rawPath.isEmpty()) {
      return "/";
    }
    return uriEncode(rawPath, false);
  }

  static String canonicalQuery(String rawQuery) {
    if (rawQuery == null || rawQuery.isEmpty()) {
      return "";
    }
    TreeMap<String, List<String>> sorted = new TreeMap<>();
    for (String pair : rawQuery.split("&")) {
      if (pair.isEmpty()) {
        continue;
      }
      int eq = pair.indexOf('=');
      String name = eq < 0 ? pair : pair.substring(0, eq);
      String value = eq < 0 ? "" : pair.substring(eq + 1);
      sorted
          .computeIfAbsent(uriEncode(decode(name), true), k -> new ArrayList<>())
          .add(uriEncode(decode(value), true));
    }
    List<String> parts = new ArrayList<>();
    sorted.forEach(
        (name, values) -> values.stream().sorted().forEach(v -> parts.add(name + "=" + v)));
    return String.join("&", parts);
  }

  private static String decode(String s) {
    // '+' is a literal plus in a SigV4 query string, not a space.
    return URLDecoder.decode(s.replace("+", "%2B"), StandardCharsets.UTF_8);
  }

  static String uriEncode(String s, boolean encodeSlash) {
    StringBuilder out = new StringBuilder();
    for (byte b : s.getBytes(StandardCharsets.UTF_8)) {
      char c = (char) (b & 0xff);
      if ((c >= 'A' && c <= 'Z')
          || (c >= 'a' && c <= 'z')
          || (c >= '0' && c <= '9')
          || c == '-'
          || c == '_'
          || c == '.'
          || c == '~'
          || (c == '/' && !encodeSlash)) {
        out.append(c);
      } else {
        out.append('%').append(String.format("%02X", b & 0xff));
      }
    }
    return out.toString();
  }

  private static Map<String, List<String>> lowerCased(Map<String, List<String>> headers) {
    Map<String, List<String>> out = new LinkedHashMap<>();
    headers.forEach(
        (k, v) ->
            out.computeIfAbsent(k.toLowerCase(Locale.ROOT), x -> new ArrayList<>()).addAll(v));
    return out;
  }

  private static String first(Map<String, List<String>> headers, String name) {
    List<String> v = headers.get(name);
    return v == null || v.isEmpty() ? null : v.get(0);
  }

  private static boolean isSorted(List<String> names) {
    for (int i = 1; i < names.size(); i++) {
      if (names.get(i - 1).compareTo(names.get(i)) >= 0) {
        return false;
      }
    }
    return true;
  }

  private static Result fail(
      Failure failure, String message, String accessKeyId, String region, String canonicalRequest) {
    return new Result(failure, message, accessKeyId, region, canonicalRequest);
  }

  static byte[] sha256(byte[] data) {
    try {
      return MessageDigest.getInstance("SHA-256").digest(data);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  private static byte[] hmac(byte[] key, String data) {
    try {
      Mac mac = Mac.getInstance("HmacSHA256");
      mac.init(new SecretKeySpec(key, "HmacSHA256"));
      return mac.doFinal(data.getBytes(StandardCharsets.UTF_8));
    } catch (java.security.GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
  }

  static String hex(byte[] bytes) {
    return HexFormat.of().formatHex(bytes);
  }
}
