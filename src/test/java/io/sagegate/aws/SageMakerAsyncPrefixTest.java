package io.sagegate.aws;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sagegate.match.S3Location;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Async input locations must fall under an allowed S3 prefix, with no tricks. */
class SageMakerAsyncPrefixTest {

  private static final List<String> PREFIXES = List.of("s3://bucket/inputs/");

  @Test
  void locationsUnderThePrefixPass() {
    assertTrue(S3Location.isUnderAny("s3://bucket/inputs/a.json", PREFIXES));
    assertTrue(S3Location.isUnderAny("s3://bucket/inputs/team/x/y.csv", PREFIXES));
    assertTrue(
        S3Location.isUnderAny("https://bucket.s3.us-east-1.amazonaws.com/inputs/a.json", PREFIXES));
    assertTrue(
        S3Location.isUnderAny("https://s3.us-east-1.amazonaws.com/bucket/inputs/a.json", PREFIXES));
    assertTrue(S3Location.isUnderAny("s3://bucket/anything", List.of("s3://bucket/")));
  }

  @Test
  void otherBucketsAndKeysFail() {
    assertFalse(S3Location.isUnderAny("s3://bucket-evil/inputs/a.json", PREFIXES));
    assertFalse(S3Location.isUnderAny("s3://bucket-evil/x", List.of("s3://bucket/")));
    assertFalse(S3Location.isUnderAny("s3://bucketinputs/a", List.of("s3://bucket")));
    assertFalse(S3Location.isUnderAny("s3://bucket/other/a.json", PREFIXES));
    assertFalse(S3Location.isUnderAny("s3://other/inputs/a.json", PREFIXES));
    assertFalse(
        S3Location.isUnderAny("https://bucket-evil.s3.us-east-1.amazonaws.com/inputs/a", PREFIXES));
    assertFalse(S3Location.isUnderAny("https://evil.example.com/bucket/inputs/a", PREFIXES));
  }

  @Test
  void dotSegmentsAndEscapesAreRefused() {
    assertFalse(S3Location.isUnderAny("s3://bucket/inputs/../secrets/k", PREFIXES));
    assertFalse(S3Location.isUnderAny("s3://bucket/inputs/./a", PREFIXES));
    assertFalse(S3Location.isUnderAny("s3://bucket/inputs/%2e%2e/secrets", PREFIXES));
    assertFalse(S3Location.isUnderAny("s3://bucket/inputs\\..\\x", PREFIXES));
    assertFalse(S3Location.isUnderAny("s3://BUCKET/inputs/a", PREFIXES));
    assertFalse(S3Location.isUnderAny("s3://bucket/inputs/a\n", PREFIXES));
    assertFalse(S3Location.isUnderAny("s3://bucket/inputs/a", List.of()));
  }

  /**
   * Path-style is only S3's own hosts: a virtual-hosted bucket whose name starts with s3- or s3.
   * names that bucket, not the first path segment, and s3.&lt;anything&gt; outside amazonaws.com is
   * no S3 location at all.
   */
  @Test
  void bucketsNamedLikeS3HostsAreNotReadAsPathStyle() {
    // The bucket is s3-data; the path merely starts with bucket/inputs/.
    assertFalse(
        S3Location.isUnderAny(
            "https://s3-data.s3.us-east-1.amazonaws.com/bucket/inputs/a", PREFIXES));
    assertFalse(
        S3Location.isUnderAny(
            "https://s3.data.s3.us-east-1.amazonaws.com/bucket/inputs/a", PREFIXES));
    assertTrue(
        S3Location.isUnderAny(
            "https://s3-data.s3.us-east-1.amazonaws.com/inputs/a",
            List.of("s3://s3-data/inputs/")));
    assertFalse(S3Location.isUnderAny("https://s3.evil.example.com/bucket/inputs/a", PREFIXES));
    assertFalse(S3Location.isUnderAny("https://s3-evil.example.com/bucket/inputs/a", PREFIXES));
    assertFalse(
        S3Location.isUnderAny(
            "https://bucket.s3.evil.com.amazonaws.com.example.org/inputs/a", PREFIXES));
    assertFalse(
        S3Location.isUnderAny("https://x@bucket.s3.us-east-1.amazonaws.com/inputs/a", PREFIXES));
    // S3's own path-style and virtual-hosted forms still pass.
    assertTrue(S3Location.isUnderAny("https://s3.amazonaws.com/bucket/inputs/a", PREFIXES));
    assertTrue(
        S3Location.isUnderAny("https://s3-us-west-2.amazonaws.com/bucket/inputs/a", PREFIXES));
    assertTrue(
        S3Location.isUnderAny(
            "https://s3.dualstack.us-east-1.amazonaws.com/bucket/inputs/a", PREFIXES));
    assertTrue(S3Location.isUnderAny("https://bucket.s3.amazonaws.com/inputs/a", PREFIXES));
    assertTrue(
        S3Location.isUnderAny("https://bucket.s3-us-west-2.amazonaws.com/inputs/a", PREFIXES));
  }
}
