package io.sagegate.provision;

import io.sagegate.match.S3Location;
import org.jspecify.annotations.Nullable;

/**
 * The ARNs the templates name, for one account and region. S3 URIs are parsed by {@link S3Location}
 * (the one S3 URI parser; the spec is checked with it on load).
 */
final class Arns {

  private final String region;
  private final String account;

  Arns(String region, String account) {
    this.region = region;
    this.account = account;
  }

  String role(String name) {
    return "arn:aws:iam::" + account + ":role/" + name;
  }

  /** A SageMaker resource: ARNs carry names in lower case. */
  String sageMaker(String type, String name) {
    return "arn:aws:sagemaker:"
        + region
        + ":"
        + account
        + ":"
        + type
        + "/"
        + ProvisionSpec.lower(name);
  }

  /** Everything SageMaker in this account and region, for trust conditions. */
  String anySageMaker() {
    return "arn:aws:sagemaker:" + region + ":" + account + ":*";
  }

  String logGroup(String name) {
    return "arn:aws:logs:" + region + ":" + account + ":log-group:" + name;
  }

  String ec2(String type, String id) {
    return "arn:aws:ec2:" + region + ":" + account + ":" + type + "/" + id;
  }

  /**
   * The service name that {@code kms:ViaService} carries for calls made through {@code service}.
   */
  String via(String service) {
    return service + "." + region + ".amazonaws.com";
  }

  /**
   * Objects at or under an S3 URI: an exact object for a {@code .tar.gz}, else the prefix and
   * below.
   */
  static String s3Objects(String s3Uri) {
    S3Location l = s3(s3Uri);
    return "arn:aws:s3:::" + l.bucket() + "/" + l.key() + (l.key().endsWith(".tar.gz") ? "" : "*");
  }

  static String s3Bucket(String s3Uri) {
    return "arn:aws:s3:::" + s3(s3Uri).bucket();
  }

  static S3Location s3(String s3Uri) {
    return S3Location.parse(s3Uri)
        .filter(l -> s3Uri.startsWith("s3://"))
        .orElseThrow(
            () -> new IllegalArgumentException("'" + s3Uri + "' is not an s3:// location"));
  }

  /** {@code ACCOUNT.dkr.ecr.REGION.amazonaws.com/REPO[:TAG|@DIGEST]} to the repository ARN. */
  static @Nullable String ecrRepository(String image) {
    int slash = image.indexOf('/');
    if (slash < 0) {
      return null;
    }
    String[] host = image.substring(0, slash).split("\\.");
    if (host.length < 6 || !"dkr".equals(host[1]) || !"ecr".equals(host[2])) {
      return null;
    }
    String repo = image.substring(slash + 1);
    int at = repo.indexOf('@');
    if (at >= 0) {
      repo = repo.substring(0, at);
    }
    int colon = repo.lastIndexOf(':');
    if (colon >= 0) {
      repo = repo.substring(0, colon);
    }
    return "arn:aws:ecr:" + host[3] + ":" + host[0] + ":repository/" + repo;
  }
}
