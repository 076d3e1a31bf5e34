package io.sagegate.auth;

import com.nimbusds.jose.jwk.JWKSet;
import io.sagegate.config.AuthSettings;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.ext.web.client.WebClient;
import io.vertx.ext.web.client.WebClientOptions;
import java.nio.file.Path;
import java.text.ParseException;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.function.Function;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Loads the issuer's public signing keys from the one configured source: OIDC discovery, a JWKS
 * URL, a static JWKS file or the local development issuer. Every load is asynchronous (Vert.x
 * WebClient, the Vert.x file system, or {@code executeBlocking} for the dev key) so that key
 * refreshes never block the event loop. Only public keys are ever returned.
 */
abstract class JwksLoader {

  private static final Logger LOG = LoggerFactory.getLogger(JwksLoader.class);

  /** Fetches give up after this long; a hung IdP must not hold a refresh forever. */
  static final long HTTP_TIMEOUT_MILLIS = 10_000;

  /** A JWKS or discovery document larger than this is refused (real ones are a few KiB). */
  static final int MAX_DOCUMENT_BYTES = 1024 * 1024;

  /** Loads the current key set; fails with a message naming the URL or file. */
  abstract Future<JWKSet> load();

  /** True if keys at the source may change while the gateway runs (periodic refresh). */
  abstract boolean periodic();

  /** Human-readable name of the source for logs, e.g. the JWKS URL. */
  abstract String describe();

  void close() {}

  /**
   * The loader for the single source {@code settings} names.
   *
   * @throws IllegalArgumentException when none or several sources are set
   */
  static JwksLoader from(Vertx vertx, AuthSettings settings, Path devKeyDir) {
    List<String> set = new ArrayList<>();
    if (notBlank(settings.discoveryUrl())) {
      set.add("discoveryUrl");
    }
    if (notBlank(settings.jwksUri())) {
      set.add("jwksUri");
    }
    if (notBlank(settings.staticJwksFile())) {
      set.add("staticJwksFile");
    }
    if (settings.devIssuer()) {
      set.add("devIssuer");
    }
    if (set.size() != 1) {
      throw new IllegalArgumentException(
          "auth: exactly one key source must be set (discoveryUrl, jwksUri, staticJwksFile or"
              + " devIssuer: true); "
              + (set.isEmpty() ? "none is set" : "found " + String.join(", ", set)));
    }
    return switch (set.get(0)) {
      case "discoveryUrl" ->
          new Discovery(
              vertx,
              Objects.requireNonNull(settings.discoveryUrl(), "the one source, found set above"),
              Objects.requireNonNull(settings.issuer(), "set by JwtAuthenticator.validate"));
      case "jwksUri" ->
          new Remote(
              vertx, Objects.requireNonNull(settings.jwksUri(), "the one source, found set above"));
      case "staticJwksFile" ->
          new StaticFile(
              vertx,
              Objects.requireNonNull(settings.staticJwksFile(), "the one source, found set above"));
      default -> new Dev(vertx, devKeyDir == null ? DevIssuer.defaultDir() : devKeyDir);
    };
  }

  private static boolean notBlank(@Nullable String s) {
    return s != null && !s.isBlank();
  }

  /**
   * A recovery that fails with {@code what: <the cause's message>}, the cause kept, so every
   * source's failure names the URL or file in the same words.
   */
  static <T> Function<Throwable, Future<T>> failingAs(String what) {
    return e -> Future.failedFuture(new IllegalStateException(what + ": " + e.getMessage(), e));
  }

  /** Parses a JWKS document and keeps its public keys; refuses a set with no keys. */
  static JWKSet parsePublic(String json, String source) {
    JWKSet set;
    try {
      set = JWKSet.parse(json);
    } catch (ParseException e) {
      throw new IllegalStateException(
          "JWKS from " + source + " is not a valid JWK set: " + e.getMessage());
    }
    JWKSet publicKeys = set.toPublicJWKSet();
    if (publicKeys.getKeys().isEmpty()) {
      throw new IllegalStateException("JWKS from " + source + " contains no public keys");
    }
    return publicKeys;
  }

  /** A JWKS served at a URL. */
  static class Remote extends JwksLoader {
    final WebClient client;
    private final @Nullable String jwksUri; // null for discovery, which resolves it

    Remote(Vertx vertx, @Nullable String jwksUri) {
      this.client =
          WebClient.create(
              vertx,
              new WebClientOptions()
                  .setConnectTimeout((int) HTTP_TIMEOUT_MILLIS)
                  .setUserAgent("sagegate")
                  .setFollowRedirects(true));
      this.jwksUri = jwksUri;
    }

    /** The JWKS URL; discovery resolves it first. */
    Future<String> jwksUri() {
      return Future.succeededFuture(
          Objects.requireNonNull(jwksUri, "jwksUri: discovery overrides"));
    }

    @Override
    Future<JWKSet> load() {
      return jwksUri().compose(uri -> get(uri, "JWKS").map(body -> parsePublic(body, uri)));
    }

    Future<String> get(String url, String what) {
      try {
        return client
            .getAbs(url)
            .timeout(HTTP_TIMEOUT_MILLIS)
            .putHeader("Accept", "application/json")
            .send()
            .recover(failingAs("Could not fetch " + what + " from " + url))
            .compose(response -> body(response, url, what));
      } catch (RuntimeException e) {
        // getAbs throws for a URL it cannot parse.
        return Future.failedFuture(
            new IllegalStateException("Invalid " + what + " URL " + url + ": " + e.getMessage()));
      }
    }

    private static Future<String> body(HttpResponse<Buffer> response, String url, String what) {
      if (response.statusCode() != 200) {
        return Future.failedFuture(
            new IllegalStateException(
                "Could not fetch " + what + " from " + url + ": HTTP " + response.statusCode()));
      }
      Buffer body = response.body();
      if (body == null || body.length() == 0) {
        return Future.failedFuture(new IllegalStateException(what + " from " + url + " is empty"));
      }
      if (body.length() > MAX_DOCUMENT_BYTES) {
        return Future.failedFuture(
            new IllegalStateException(
                what + " from " + url + " exceeds " + MAX_DOCUMENT_BYTES + " bytes"));
      }
      return Future.succeededFuture(body.toString());
    }

    @Override
    boolean periodic() {
      return true;
    }

    @Override
    String describe() {
      return Objects.requireNonNull(jwksUri, "jwksUri: discovery overrides");
    }

    @Override
    void close() {
      client.close();
    }
  }

  /**
   * OIDC discovery: the discovery document names the JWKS URL and must name the configured issuer
   * (OpenID Connect Discovery 1.0, section 4.3). The JWKS URL is resolved once and reused by
   * refreshes.
   */
  static final class Discovery extends Remote {
    private final String discoveryUrl;
    private final String issuer;
    private volatile @Nullable String resolvedJwksUri;

    Discovery(Vertx vertx, String discoveryUrl, String issuer) {
      super(vertx, null);
      this.discoveryUrl = discoveryUrl;
      this.issuer = issuer;
    }

    @Override
    Future<String> jwksUri() {
      String known = resolvedJwksUri;
      if (known != null) {
        return Future.succeededFuture(known);
      }
      return get(discoveryUrl, "OIDC discovery document")
          .map(
              body -> {
                JsonObject doc;
                try {
                  doc = new JsonObject(body);
                } catch (DecodeException | ClassCastException e) {
                  throw new IllegalStateException(
                      "OIDC discovery document at " + discoveryUrl + " is not a JSON object");
                }
                Object docIssuer = doc.getValue("issuer");
                if (!Objects.equals(docIssuer, issuer)) {
                  throw new IllegalStateException(
                      "OIDC discovery document at "
                          + discoveryUrl
                          + " names issuer "
                          + docIssuer
                          + ", but auth.issuer is "
                          + issuer);
                }
                Object uri = doc.getValue("jwks_uri");
                if (!(uri instanceof String s) || s.isBlank()) {
                  throw new IllegalStateException(
                      "OIDC discovery document at " + discoveryUrl + " has no jwks_uri");
                }
                resolvedJwksUri = s;
                return s;
              });
    }

    @Override
    String describe() {
      String known = resolvedJwksUri;
      return known == null ? discoveryUrl : known + " (from " + discoveryUrl + ")";
    }
  }

  /** A JWKS file for air-gapped sites; re-read on refresh so a replaced file is picked up. */
  static final class StaticFile extends JwksLoader {
    private final Vertx vertx;
    private final String file;

    StaticFile(Vertx vertx, String file) {
      this.vertx = vertx;
      this.file = file;
    }

    @Override
    Future<JWKSet> load() {
      return vertx
          .fileSystem()
          .readFile(file)
          .recover(failingAs("Could not read static JWKS file " + file))
          .map(body -> parsePublic(body.toString(), "file " + file));
    }

    @Override
    boolean periodic() {
      return false;
    }

    @Override
    String describe() {
      return file;
    }
  }

  /** The local development issuer's public key (created on first use). */
  static final class Dev extends JwksLoader {
    private final Vertx vertx;
    private final Path dir;

    Dev(Vertx vertx, Path dir) {
      this.vertx = vertx;
      this.dir = dir;
    }

    @Override
    Future<JWKSet> load() {
      // Key generation and file IO block: off the event loop.
      return vertx
          .executeBlocking(
              () -> {
                DevIssuer issuer = DevIssuer.loadOrCreate(dir);
                if (issuer.created()) {
                  LOG.info("Generated the development issuer key {}", issuer.keyFile());
                }
                return issuer.publicKeys();
              })
          .recover(failingAs("Could not load the development issuer key from " + dir));
    }

    @Override
    boolean periodic() {
      return false;
    }

    @Override
    String describe() {
      return "development issuer key in " + dir;
    }
  }
}
