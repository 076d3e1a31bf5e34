package io.sagegate.provision;

import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import org.jspecify.annotations.Nullable;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.services.s3.S3Client;

/**
 * The S3 bucket (and optional key prefix) through which {@link StackDeployer} hands CloudFormation
 * its template by URL ({@code TemplateURL}), as {@code aws cloudformation deploy --s3-bucket} does:
 * CloudFormation takes at most 51,200 bytes inline but 1 MB from S3, and a spec with many endpoints
 * or personas renders more than the inline limit.
 *
 * <p>Keys are content-addressed ({@code prefix + sha256(template) + ".json"}): the same template
 * always lands on the same key, so re-deploying an unchanged spec rewrites the same object, and a
 * new template never overwrites one a change set in flight may still be reading.
 */
public final class TemplateBucket {

  private final S3Client s3;
  private final String bucket;
  private final String prefix;

  /**
   * @param prefix key prefix, may be null or empty; a {@code /} is added when it lacks one, as the
   *     AWS CLI's {@code --s3-prefix} does
   */
  public TemplateBucket(S3Client s3, String bucket, @Nullable String prefix) {
    if (bucket == null || bucket.isBlank()) {
      throw new IllegalArgumentException("the template bucket's name is empty");
    }
    this.s3 = s3;
    this.bucket = bucket;
    this.prefix =
        prefix == null || prefix.isEmpty() ? "" : prefix.endsWith("/") ? prefix : prefix + "/";
  }

  public String bucket() {
    return bucket;
  }

  /**
   * The object key of a template: the prefix, the hex SHA-256 of its UTF-8 bytes, {@code .json}.
   */
  public String key(byte[] template) {
    try {
      return prefix
          + HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(template))
          + ".json";
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is required of every JVM", e);
    }
  }

  /** Uploads the template under its content-addressed key; returns the key. */
  public String upload(byte[] template) {
    String key = key(template);
    s3.putObject(
        b -> b.bucket(bucket).key(key).contentType("application/json"),
        RequestBody.fromBytes(template));
    return key;
  }

  /**
   * The URL CloudFormation reads the object from: the S3 client's own URL for it, so it follows the
   * client's region, endpoint override and addressing style (path-style for emulators).
   */
  public String url(String key) {
    return s3.utilities().getUrl(b -> b.bucket(bucket).key(key)).toExternalForm();
  }
}
