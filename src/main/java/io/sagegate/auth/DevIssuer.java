package io.sagegate.auth;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JOSEObjectType;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.RSASSASigner;
import com.nimbusds.jose.jwk.JWK;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.KeyUse;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jose.jwk.gen.RSAKeyGenerator;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import io.sagegate.config.AuthSettings;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.text.ParseException;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The local development token issuer, for laptops with no identity provider. Its RSA signing key is
 * generated on first use and kept as a JWK file, readable by the owner only, under {@link
 * #defaultDir()} — never in the repository. The gateway trusts its public key when {@code
 * auth.devIssuer} is true; the {@code token} command mints tokens with it.
 */
public final class DevIssuer {

  /** The private signing key's file name inside the key directory. */
  public static final String KEY_FILE = "signing-key.jwk.json";

  private static final Logger LOG = LoggerFactory.getLogger(DevIssuer.class);
  private static final Set<String> RESERVED_CLAIMS =
      Set.of("iss", "aud", "sub", "exp", "nbf", "iat", "jti");
  private static final Set<PosixFilePermission> OWNER_FILE =
      PosixFilePermissions.fromString("rw-------");
  private static final Set<PosixFilePermission> OWNER_DIR =
      PosixFilePermissions.fromString("rwx------");

  private final RSAKey key;
  private final Path keyFile;
  private final boolean created;
  private final RSASSASigner signer;

  private DevIssuer(RSAKey key, Path keyFile, boolean created) {
    this.key = key;
    this.keyFile = keyFile;
    this.created = created;
    try {
      this.signer = new RSASSASigner(key);
    } catch (JOSEException e) {
      throw new IllegalStateException("Development issuer key in " + keyFile + " cannot sign", e);
    }
  }

  /**
   * The key directory: {@code $SAGEGATE_HOME/dev-issuer} if {@code SAGEGATE_HOME} is set, else
   * {@code $HOME/.sagegate/dev-issuer}, else (no {@code HOME}) under the JVM's home ({@code
   * user.home}). {@code serve} and {@code token} both use it, so they always agree.
   */
  public static Path defaultDir() {
    return defaultDir(System.getenv(), System.getProperty("user.home"));
  }

  /** {@link #defaultDir()} for the given environment and JVM home. */
  public static Path defaultDir(java.util.Map<String, String> env, String userHome) {
    String home = env.get("SAGEGATE_HOME");
    if (home != null && !home.isBlank()) {
      return Path.of(home, "dev-issuer").toAbsolutePath();
    }
    String userDir = env.get("HOME");
    if (userDir == null || userDir.isBlank()) {
      userDir = userHome;
    }
    return Path.of(userDir, ".sagegate", "dev-issuer").toAbsolutePath();
  }

  /**
   * Loads the signing key from {@code dir}, generating and storing it (owner-only permissions) if
   * there is none yet. Blocking: call it off the event loop.
   *
   * @throws UncheckedIOException if the directory or key file cannot be read or written
   * @throws IllegalStateException if the key file is not an RSA private JWK
   */
  public static DevIssuer loadOrCreate(Path dir) {
    if (dir == null) {
      throw new IllegalArgumentException("dev issuer key directory must not be null");
    }
    Path file = dir.resolve(KEY_FILE);
    try {
      if (Files.exists(file)) {
        return new DevIssuer(read(file), file, false);
      }
      createDirectories(dir);
      RSAKey generated =
          new RSAKeyGenerator(2048)
              .keyUse(KeyUse.SIGNATURE)
              .algorithm(JWSAlgorithm.RS256)
              .keyIDFromThumbprint(true)
              .generate();
      if (!publish(dir, file, generated.toJSONString())) {
        // Another process created the key first: use theirs so both agree.
        return new DevIssuer(read(file), file, false);
      }
      LOG.debug("Generated development issuer key {}", file);
      return new DevIssuer(generated, file, true);
    } catch (IOException e) {
      throw new UncheckedIOException(
          "Cannot load or create the development issuer key in " + dir + ": " + e.getMessage(), e);
    } catch (JOSEException e) {
      throw new IllegalStateException("Cannot generate an RSA key: " + e.getMessage(), e);
    }
  }

  private static RSAKey read(Path file) throws IOException {
    warnIfShared(file);
    String json = Files.readString(file, StandardCharsets.UTF_8);
    try {
      JWK jwk = JWK.parse(json);
      if (!(jwk instanceof RSAKey rsa) || !rsa.isPrivate()) {
        throw new IllegalStateException(
            "Development issuer key file " + file + " does not hold an RSA private key");
      }
      return rsa;
    } catch (ParseException e) {
      // The parser's message may quote key material; name the file only.
      throw new IllegalStateException(
          "Development issuer key file " + file + " is not a valid JWK");
    }
  }

  private static void warnIfShared(Path file) {
    try {
      Set<PosixFilePermission> perms = Files.getPosixFilePermissions(file);
      if (!OWNER_FILE.containsAll(perms)) {
        LOG.warn(
            "Development issuer key {} is readable by others ({}); run chmod 600 on it",
            file,
            PosixFilePermissions.toString(perms));
      }
    } catch (UnsupportedOperationException | IOException e) {
      // Not a POSIX file system: nothing to check.
    }
  }

  private static boolean posix(Path dir) {
    return dir.getFileSystem().supportedFileAttributeViews().contains("posix");
  }

  private static void createDirectories(Path dir) throws IOException {
    if (Files.isDirectory(dir)) {
      return;
    }
    if (posix(dir)) {
      Files.createDirectories(dir, PosixFilePermissions.asFileAttribute(OWNER_DIR));
    } else {
      Files.createDirectories(dir);
    }
  }

  /**
   * Writes the key to a temporary owner-only file, then links it into place so that no reader ever
   * sees a half-written key and a concurrent creator cannot overwrite it.
   *
   * @return false if the key file appeared meanwhile
   */
  private static boolean publish(Path dir, Path file, String json) throws IOException {
    boolean posix = posix(dir);
    FileAttribute<?>[] attrs =
        posix
            ? new FileAttribute<?>[] {PosixFilePermissions.asFileAttribute(OWNER_FILE)}
            : new FileAttribute<?>[0];
    Path tmp = Files.createTempFile(dir, ".signing-key", ".tmp", attrs);
    try {
      Files.writeString(tmp, json, StandardCharsets.UTF_8);
      try {
        Files.createLink(file, tmp);
      } catch (FileAlreadyExistsException e) {
        return false;
      } catch (UnsupportedOperationException e) {
        // No hard links on this file system: a plain move (may replace a concurrent key).
        Files.move(tmp, file);
      }
      return true;
    } finally {
      Files.deleteIfExists(tmp);
    }
  }

  /** The public half of the signing key, as the gateway's trusted key set. */
  public JWKSet publicKeys() {
    return new JWKSet(key.toPublicJWK());
  }

  /** Where the private key is stored. */
  public Path keyFile() {
    return keyFile;
  }

  /** True if this call generated the key (the {@code token} command reports the new file). */
  public boolean created() {
    return created;
  }

  /**
   * Mints an RS256 token with {@code iss} {@link AuthSettings#DEV_ISSUER}, {@code aud} {@link
   * AuthSettings#DEV_AUDIENCE}, {@code iat}, {@code nbf}, {@code exp = now + ttl} and a random
   * {@code jti}; {@code groups} as a JSON array, {@code scope} as a space-separated string and
   * {@code tenant} when given.
   *
   * @param extraClaims further claims; may not replace the registered ones above
   * @throws IllegalArgumentException for a blank subject, a non-positive ttl or a reserved extra
   *     claim
   */
  public String mint(
      String subject,
      List<String> groups,
      List<String> scopes,
      @Nullable String tenant,
      Duration ttl,
      Map<String, Object> extraClaims) {
    if (subject == null || subject.isBlank()) {
      throw new IllegalArgumentException("subject must not be blank");
    }
    if (ttl == null || ttl.isNegative() || ttl.isZero()) {
      throw new IllegalArgumentException("ttl must be positive, got " + ttl);
    }
    Instant now = Instant.now();
    JWTClaimsSet.Builder claims = new JWTClaimsSet.Builder();
    if (extraClaims != null) {
      for (Map.Entry<String, Object> e : extraClaims.entrySet()) {
        if (RESERVED_CLAIMS.contains(e.getKey())) {
          throw new IllegalArgumentException(
              "claim " + e.getKey() + " is set by the issuer and cannot be overridden");
        }
        claims.claim(e.getKey(), e.getValue());
      }
    }
    claims
        .issuer(AuthSettings.DEV_ISSUER)
        .audience(AuthSettings.DEV_AUDIENCE)
        .subject(subject)
        .issueTime(Date.from(now))
        .notBeforeTime(Date.from(now))
        .expirationTime(Date.from(now.plus(ttl)))
        .jwtID(UUID.randomUUID().toString());
    if (groups != null && !groups.isEmpty()) {
      claims.claim("groups", List.copyOf(groups));
    }
    if (scopes != null && !scopes.isEmpty()) {
      claims.claim("scope", String.join(" ", scopes));
    }
    if (tenant != null && !tenant.isBlank()) {
      claims.claim("tenant", tenant);
    }
    SignedJWT jwt =
        new SignedJWT(
            new JWSHeader.Builder(JWSAlgorithm.RS256)
                .keyID(key.getKeyID())
                .type(JOSEObjectType.JWT)
                .build(),
            claims.build());
    try {
      jwt.sign(signer);
    } catch (JOSEException e) {
      throw new IllegalStateException("Signing the development token failed: " + e.getMessage());
    }
    return jwt.serialize();
  }

  @Override
  public String toString() {
    // Never the key itself.
    return "DevIssuer[kid=" + key.getKeyID() + ", file=" + keyFile + "]";
  }
}
