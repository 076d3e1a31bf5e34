package io.sagegate.provision;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * S3 URIs are parsed in one place, {@code io.sagegate.match.S3Location}; provisioning builds ARNs
 * from it.
 */
class S3UriParsingTest {

  @Test
  void provisioningBuildsS3ArnsFromTheOneParser() {
    assertEquals(
        "arn:aws:s3:::acme-ml-models/fraud/1.4.2/model.tar.gz",
        Arns.s3Objects("s3://acme-ml-models/fraud/1.4.2/model.tar.gz"));
    assertEquals(
        "arn:aws:s3:::acme-ml-capture/fraud-scorer/*",
        Arns.s3Objects("s3://acme-ml-capture/fraud-scorer/"));
    assertEquals("arn:aws:s3:::acme-ml-capture/*", Arns.s3Objects("s3://acme-ml-capture"));
    assertEquals("arn:aws:s3:::acme-ml-capture", Arns.s3Bucket("s3://acme-ml-capture/x/"));
    assertThrows(IllegalArgumentException.class, () -> Arns.s3Objects("s3://acme/../etc/"));
    assertThrows(
        IllegalArgumentException.class,
        () -> Arns.s3Objects("https://acme.s3.amazonaws.com/x"),
        "specs take s3:// only");
  }

  @Test
  void noOtherMainClassTakesS3UrisApart() throws IOException {
    Path root = Path.of("src/main/java/io/sagegate");
    List<String> offenders;
    try (Stream<Path> files = Files.walk(root)) {
      offenders =
          files
              .filter(p -> p.toString().endsWith(".java"))
              .filter(p -> !p.endsWith("S3Location.java"))
              .filter(
                  p -> {
                    try {
                      String s = Files.readString(p);
                      return s.contains("substring(\"s3://\".length())")
                          || s.contains("indexOf(\"s3://\")");
                    } catch (IOException e) {
                      throw new java.io.UncheckedIOException(e);
                    }
                  })
              .map(Path::toString)
              .toList();
    }
    assertEquals(List.of(), offenders);
  }
}
