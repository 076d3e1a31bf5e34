package io.sagegate.architecture;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static com.tngtech.archunit.library.dependencies.SlicesRuleDefinition.slices;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import io.vertx.core.Future;
import org.junit.jupiter.api.Test;

/**
 * The boundaries the code keeps, checked on the compiled classes (ArchUnit), so a new import that
 * breaks one fails the build with the offending classes named. Replaces the text-grep LayeringTest,
 * which a fully qualified name or a static import could slip past.
 */
class ArchitectureTest {

  private static final JavaClasses MAIN =
      new ClassFileImporter()
          .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
          .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_JARS)
          .importPackages("io.sagegate");

  private static final JavaClasses ALL =
      new ClassFileImporter()
          .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_JARS)
          .importPackages("io.sagegate");

  /**
   * No two top-level packages (the modules: auth, authz, config, backend, aws, gateway, ...) depend
   * on each other, directly or round a ring: each can be read, tested and moved with only the ones
   * below it. A general helper two modules need goes into a package of its own (as {@code match}
   * and {@code eventstream} did). A module's subpackages count as the module: the gateway assembles
   * its stages ({@code gateway.stage}) and the stages use its Exchange.
   */
  @Test
  void packagesHaveNoCycles() {
    slices()
        .matching("io.sagegate.(*)..")
        .namingSlices("$1")
        .should()
        .beFreeOfCycles()
        .because("a package cycle ties packages together; move what both need into its own package")
        .check(MAIN);
  }

  /**
   * Provisioning (CloudFormation templates, IAM, S3 uploads) runs from the command line, never on
   * the request path: only {@code io.sagegate.provision} itself and the CLI that exposes it (Main,
   * ProvisionCommand) may use it.
   */
  @Test
  void requestPathNeverImportsProvisioning() {
    noClasses()
        .that()
        .resideOutsideOfPackage("io.sagegate.provision..")
        .and()
        .haveNameNotMatching("io\\.sagegate\\.cli\\.(Main|ProvisionCommand)(\\$.*)?")
        .should()
        .dependOnClassesThat()
        .resideInAPackage("io.sagegate.provision..")
        .because("provisioning is a command-line tool; the gateway's request path must not load it")
        .check(MAIN);
  }

  /**
   * Nothing waits on a Vert.x future without a bound (a bare {@code Future.await()} blocks forever
   * if the future is lost): tests use {@code await(AWAIT_SECONDS, SECONDS)}. The exceptions are the
   * processes whose main thread waits for their own shutdown: serve, demo-model and the test
   * emulator's main.
   */
  @Test
  void noUnboundedFutureAwait() {
    noClasses()
        .that()
        .haveNameNotMatching(
            "io\\.sagegate\\.(cli\\.(ServeCommand|DemoModelCommand)|testsupport\\.aws\\.EmulatorMain)(\\$.*)?")
        .should()
        .callMethod(Future.class, "await")
        .because(
            "an unbounded wait hangs the build when a future is lost; use await(timeout, unit)")
        .check(ALL);
  }

  /** The check looks where the code is: the classes were found. */
  @Test
  void theCheckSeesTheCode() {
    org.junit.jupiter.api.Assertions.assertTrue(MAIN.containPackage("io.sagegate.provision"));
    org.junit.jupiter.api.Assertions.assertTrue(MAIN.containPackage("io.sagegate.gateway"));
  }
}
