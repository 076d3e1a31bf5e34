package io.sagegate.provision;

import com.fasterxml.jackson.annotation.JsonIgnore;
import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.exc.MismatchedInputException;
import com.fasterxml.jackson.databind.exc.UnrecognizedPropertyException;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import io.sagegate.match.S3Location;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;
import org.jspecify.annotations.Nullable;

/**
 * The declarative provisioning spec (conf/provision.yaml): environments, models, endpoint
 * configurations, endpoints, personas, the gateway's own role and the guard. One spec renders one
 * CloudFormation template per environment. Immutable; {@link #load} validates it and names the
 * field at fault.
 */
@JsonIgnoreProperties(ignoreUnknown = false)
public record ProvisionSpec(
    String stackName,
    @Nullable String gatewayConfig,
    Gateway gateway,
    Map<String, Environment> environments,
    List<Model> models,
    List<EndpointConfigSpec> endpointConfigs,
    List<Endpoint> endpoints,
    List<Persona> personas,
    @JsonIgnore @Nullable Path baseDir) {

  /** SageMaker's name pattern for models, endpoint configs and endpoints. */
  static final Pattern SAGEMAKER_NAME = Pattern.compile("^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$");

  static final Pattern ACCOUNT = Pattern.compile("^\\d{12}$");
  static final Pattern REGION = Pattern.compile("^[a-z]{2}(-[a-z]+)+-\\d$");
  static final Pattern SUBNET = Pattern.compile("^subnet-([0-9a-f]{8}|[0-9a-f]{17})$");
  static final Pattern SECURITY_GROUP = Pattern.compile("^sg-([0-9a-f]{8}|[0-9a-f]{17})$");
  static final Pattern VPC = Pattern.compile("^vpc-([0-9a-f]{8}|[0-9a-f]{17})$");
  static final Pattern KMS_KEY_ID =
      Pattern.compile(
          "^([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|mrk-[0-9a-f]{32})$");
  static final Pattern CIDR =
      Pattern.compile(
          "^((25[0-5]|2[0-4]\\d|1?\\d?\\d)\\.){3}(25[0-5]|2[0-4]\\d|1?\\d?\\d)/(3[0-2]|[12]?\\d)$");

  /** AWS managed policies far broader than any persona: rejected as extra managed policies. */
  static final Set<String> TOO_BROAD =
      Set.of(
          "arn:aws:iam::aws:policy/AdministratorAccess",
          "arn:aws:iam::aws:policy/PowerUserAccess",
          "arn:aws:iam::aws:policy/IAMFullAccess",
          "arn:aws:iam::aws:policy/AmazonSageMakerFullAccess",
          "arn:aws:iam::aws:policy/AmazonS3FullAccess");

  static final Set<String> KINDS =
      Set.of("data-scientist", "ml-engineer", "app-consumer", "compute");

  public ProvisionSpec {
    stackName = stackName == null ? "sagegate" : stackName;
    environments =
        environments == null
            ? Map.of()
            : java.util.Collections.unmodifiableMap(new LinkedHashMap<>(environments));
    models = models == null ? List.of() : List.copyOf(models);
    endpointConfigs = endpointConfigs == null ? List.of() : List.copyOf(endpointConfigs);
    endpoints = endpoints == null ? List.of() : List.copyOf(endpoints);
    personas = personas == null ? List.of() : List.copyOf(personas);
  }

  /**
   * One deployment target. {@code tags} are applied to every resource, with {@code env} set. {@code
   * profile}: the AWS profile {@code deploy} and {@code destroy} use for it (overridden by {@code
   * --profile}). {@code vpcId}: when set, the private SageMaker Runtime endpoint is rendered in
   * {@code subnets}, admitting {@code gatewaySecurityGroups} and {@code gatewayCidrs}.
   */
  public record Environment(
      String account,
      String region,
      List<String> subnets,
      List<String> securityGroups,
      @Nullable String dataKmsKey,
      @Nullable String volumeKmsKey,
      Map<String, String> tags,
      @Nullable String gatewayConfig,
      Guard guard,
      @Nullable String profile,
      @Nullable String vpcId,
      List<String> gatewaySecurityGroups,
      List<String> gatewayCidrs) {
    public Environment {
      subnets = subnets == null ? List.of() : List.copyOf(subnets);
      securityGroups = securityGroups == null ? List.of() : List.copyOf(securityGroups);
      tags = tags == null ? Map.of() : Map.copyOf(tags);
      gatewaySecurityGroups =
          gatewaySecurityGroups == null ? List.of() : List.copyOf(gatewaySecurityGroups);
      gatewayCidrs = gatewayCidrs == null ? List.of() : List.copyOf(gatewayCidrs);
    }
  }

  /**
   * The detective guard: where the sagegate jar lives (same region as the environment) and which
   * callers, besides personas allowed to manage endpoints, may deploy the spec's models (for
   * example the CloudFormation deployment role).
   */
  public record Guard(String codeBucket, String codeKey, List<String> approvedCallers) {
    public Guard {
      approvedCallers = approvedCallers == null ? List.of() : List.copyOf(approvedCallers);
    }
  }

  /** Who may assume a role: an AWS principal ARN, or an OIDC provider (EKS IRSA) and subject. */
  public record Trust(
      @Nullable String aws, @Nullable String oidcProvider, @Nullable String subject) {}

  /** The gateway's own role and the ExternalId it presents to its invoke roles. */
  public record Gateway(String roleName, Trust trustedBy, @Nullable String externalId) {}

  public record Model(
      String name,
      String image,
      @Nullable String modelDataUrl,
      @Nullable String executionRoleArn,
      @Nullable String executionRole,
      @Nullable Boolean vpc,
      @Nullable Boolean networkIsolation) {
    public boolean inVpc() {
      return vpc == null || vpc;
    }

    public boolean isolated() {
      return networkIsolation == null || networkIsolation;
    }
  }

  public record Variant(
      @Nullable String name,
      String model,
      @Nullable String instanceType,
      @Nullable Integer instanceCount,
      @Nullable Serverless serverless,
      @Nullable Double weight) {}

  public record Serverless(Integer memoryMb, Integer maxConcurrency) {}

  public record DataCapture(String destination, @Nullable Integer samplingPercentage) {}

  public record EndpointConfigSpec(
      String name,
      List<Variant> variants,
      @Nullable DataCapture dataCapture,
      @Nullable Boolean kms,
      Map<String, String> tags) {
    public EndpointConfigSpec {
      variants = variants == null ? List.of() : List.copyOf(variants);
      tags = tags == null ? Map.of() : Map.copyOf(tags);
    }

    public boolean encrypted() {
      return kms == null || kms;
    }
  }

  public record Endpoint(String name, String config, Map<String, String> tags) {
    public Endpoint {
      tags = tags == null ? Map.of() : Map.copyOf(tags);
    }
  }

  /**
   * A persona role in the spirit of SageMaker Role Manager: a kind (data-scientist, ml-engineer,
   * app-consumer, compute) whose default activities may be overridden, S3 prefixes, VPC and KMS
   * constraints and extra managed policies. A {@code compute} persona is an execution role that
   * models can name in {@code executionRole}.
   */
  public record Persona(
      String name,
      String kind,
      List<String> activities,
      List<String> s3Read,
      List<String> s3Write,
      @Nullable Boolean vpcConstrained,
      @Nullable Boolean kmsConstrained,
      List<String> managedPolicies,
      @Nullable Trust trustedBy) {
    public Persona {
      activities = activities == null ? List.of() : List.copyOf(activities);
      s3Read = s3Read == null ? List.of() : List.copyOf(s3Read);
      s3Write = s3Write == null ? List.of() : List.copyOf(s3Write);
      managedPolicies = managedPolicies == null ? List.of() : List.copyOf(managedPolicies);
    }

    public boolean vpc() {
      return vpcConstrained != null && vpcConstrained;
    }

    public boolean kms() {
      return kmsConstrained != null && kmsConstrained;
    }

    /** The activities in force: the listed ones, else the kind's defaults. */
    public List<Activity> effectiveActivities() {
      List<String> names = activities.isEmpty() ? Activity.defaultsFor(kind) : activities;
      return names.stream().map(Activity::fromName).toList();
    }
  }

  /** What a persona may do; each maps to a small set of IAM statements. */
  public enum Activity {
    INVOKE_ENDPOINTS("invoke-endpoints"),
    MANAGE_MODELS("manage-models"),
    MANAGE_ENDPOINTS("manage-endpoints"),
    READ_LOGS_METRICS("read-logs-metrics"),
    S3_READ("s3-read"),
    S3_WRITE("s3-write"),
    RUN_MODEL("run-model");

    final String ruleName;

    Activity(String ruleName) {
      this.ruleName = ruleName;
    }

    public static Activity fromName(String name) {
      for (Activity a : values()) {
        if (a.ruleName.equals(name)) {
          return a;
        }
      }
      throw new IllegalArgumentException(
          "'"
              + name
              + "' is not an activity (one of "
              + java.util.Arrays.stream(values()).map(a -> a.ruleName).toList()
              + ")");
    }

    static List<String> defaultsFor(String kind) {
      return switch (kind) {
        // People invoke through the gateway, not directly: invoke-endpoints is in no person's
        // defaults, and `provision diff` reports every persona that can invoke directly.
        case "data-scientist" -> List.of("read-logs-metrics", "s3-read", "s3-write");
        case "ml-engineer" ->
            List.of("manage-models", "manage-endpoints", "read-logs-metrics", "s3-read");
        case "app-consumer" -> List.of("invoke-endpoints");
        case "compute" -> List.of("run-model", "s3-read");
        default -> List.of();
      };
    }

    @Override
    public String toString() {
      return ruleName;
    }
  }

  public Environment environment(String env) {
    Environment e = environments.get(env);
    if (e == null) {
      throw new IllegalArgumentException(
          "--env: '" + env + "' is not an environment of the spec (" + environments.keySet() + ")");
    }
    return e;
  }

  /** The gateway configuration file for {@code env}, resolved against the spec's directory. */
  public Path gatewayConfigFile(String env) {
    String file =
        environment(env).gatewayConfig() != null ? environment(env).gatewayConfig() : gatewayConfig;
    if (file == null) {
      throw new IllegalArgumentException(
          "gatewayConfig: required (the gateway configuration the invoke roles derive from)");
    }
    return baseDir == null ? Path.of(file) : baseDir.resolve(file);
  }

  public ProvisionSpec withBaseDir(@Nullable Path dir) {
    return new ProvisionSpec(
        stackName,
        gatewayConfig,
        gateway,
        environments,
        models,
        endpointConfigs,
        endpoints,
        personas,
        dir);
  }

  /** Reads and validates a spec; problems name the file and field. */
  public static ProvisionSpec load(Path file) {
    ObjectMapper yaml =
        new ObjectMapper(new YAMLFactory())
            .configure(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, true);
    ProvisionSpec spec;
    try {
      spec = yaml.readValue(Files.readString(file), ProvisionSpec.class);
    } catch (NoSuchFileException e) {
      throw new IllegalArgumentException(file + ": no such file");
    } catch (UnrecognizedPropertyException e) {
      List<String> known =
          e.getKnownPropertyIds() == null
              ? List.of()
              : e.getKnownPropertyIds().stream().map(String::valueOf).sorted().toList();
      throw new IllegalArgumentException(
          file
              + ": "
              + specPath(e)
              + ": unknown field '"
              + e.getPropertyName()
              + "' (known: "
              + String.join(", ", known)
              + ")");
    } catch (MismatchedInputException e) {
      throw new IllegalArgumentException(
          file + ": " + specPath(e) + ": expected " + expected(e.getTargetType()));
    } catch (JsonMappingException e) {
      throw new IllegalArgumentException(file + ": " + specPath(e) + ": " + e.getOriginalMessage());
    } catch (IOException e) {
      throw new IllegalArgumentException(file + ": " + e.getMessage());
    }
    if (spec == null) {
      throw new IllegalArgumentException(file + ": empty spec");
    }
    Path dir = file.toAbsolutePath().getParent();
    spec = spec.withBaseDir(dir);
    try {
      spec.validate();
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(file + ": " + e.getMessage(), e);
    }
    return spec;
  }

  /**
   * Where in the spec a Jackson error is, in the spec's own terms: {@code
   * environments.staging.account}, {@code models[0].instanceTyp}; never Java class names.
   */
  static String specPath(JsonMappingException e) {
    StringBuilder b = new StringBuilder();
    for (JsonMappingException.Reference r : e.getPath()) {
      if (r.getFieldName() != null) {
        b.append(b.length() == 0 ? "" : ".").append(r.getFieldName());
      } else if (r.getIndex() >= 0) {
        b.append('[').append(r.getIndex()).append(']');
      }
    }
    return b.length() == 0 ? "(top level)" : b.toString();
  }

  private static String expected(@Nullable Class<?> type) {
    if (type == null) {
      return "another kind of value";
    }
    if (type == String.class) {
      return "text";
    }
    if (type == Integer.class
        || type == int.class
        || type == Double.class
        || type == double.class) {
      return "a number";
    }
    if (type == Boolean.class || type == boolean.class) {
      return "true or false";
    }
    if (java.util.Collection.class.isAssignableFrom(type)) {
      return "a list";
    }
    return "a mapping (key: value)";
  }

  void validate() {
    if (environments.isEmpty()) {
      throw new IllegalArgumentException("environments: at least one is required");
    }
    if (gateway == null || gateway.roleName() == null || gateway.trustedBy() == null) {
      throw new IllegalArgumentException("gateway: roleName and trustedBy are required");
    }
    trust("gateway.trustedBy", gateway.trustedBy());
    environments.forEach(
        (name, e) -> {
          String p = "environments." + name;
          format(e.account(), ACCOUNT, p + ".account", "12 digits (an AWS account id)");
          format(e.region(), REGION, p + ".region", "an AWS region such as eu-west-1");
          for (int j = 0; j < e.subnets().size(); j++) {
            format(
                e.subnets().get(j),
                SUBNET,
                p + ".subnets[" + j + "]",
                "a subnet id (subnet- and 8 or 17 hex digits)");
          }
          for (int j = 0; j < e.securityGroups().size(); j++) {
            format(
                e.securityGroups().get(j),
                SECURITY_GROUP,
                p + ".securityGroups[" + j + "]",
                "a security group id (sg- and 8 or 17 hex digits)");
          }
          if (e.vpcId() != null) {
            format(e.vpcId(), VPC, p + ".vpcId", "a VPC id (vpc- and 8 or 17 hex digits)");
            require(
                !e.subnets().isEmpty(),
                p + ".subnets",
                null,
                "required: the SageMaker Runtime VPC endpoint goes in them");
            require(
                !e.gatewaySecurityGroups().isEmpty() || !e.gatewayCidrs().isEmpty(),
                p + ".gatewaySecurityGroups/gatewayCidrs",
                null,
                "at least one is required with vpcId: the VPC endpoint admits only the gateway's pods");
          }
          for (int j = 0; j < e.gatewaySecurityGroups().size(); j++) {
            format(
                e.gatewaySecurityGroups().get(j),
                SECURITY_GROUP,
                p + ".gatewaySecurityGroups[" + j + "]",
                "a security group id (sg- and 8 or 17 hex digits)");
          }
          for (int j = 0; j < e.gatewayCidrs().size(); j++) {
            format(
                e.gatewayCidrs().get(j),
                CIDR,
                p + ".gatewayCidrs[" + j + "]",
                "an IPv4 CIDR such as 10.0.0.0/16");
          }
          require(
              e.vpcId() != null
                  || (e.gatewaySecurityGroups().isEmpty() && e.gatewayCidrs().isEmpty()),
              p + ".vpcId",
              null,
              "required: gatewaySecurityGroups/gatewayCidrs are for the VPC endpoint in it");
          for (String[] k :
              new String[][] {{"dataKmsKey", e.dataKmsKey()}, {"volumeKmsKey", e.volumeKmsKey()}}) {
            if (k[1] != null) {
              String prefix = "arn:aws:kms:" + e.region() + ":" + e.account() + ":key/";
              boolean ok =
                  k[1].startsWith(prefix)
                      && KMS_KEY_ID.matcher(k[1].substring(prefix.length())).matches();
              require(
                  ok,
                  p + "." + k[0],
                  null,
                  "expected a KMS key ARN in the environment's region and account ("
                      + prefix
                      + "<key id, a UUID>), got '"
                      + k[1]
                      + "'");
            }
          }
          require(
              e.guard() != null && e.guard().codeBucket() != null && e.guard().codeKey() != null,
              p + ".guard",
              null,
              "codeBucket and codeKey (the sagegate jar for the guard Lambda) are required");
          require(
              !e.subnets().isEmpty() || models.stream().noneMatch(Model::inVpc),
              p + ".subnets",
              null,
              "required: a model runs in the VPC");
          require(
              !e.securityGroups().isEmpty() || models.stream().noneMatch(Model::inVpc),
              p + ".securityGroups",
              null,
              "required: a model runs in the VPC");
          boolean kms = personas.stream().anyMatch(Persona::kms);
          boolean vpc = personas.stream().anyMatch(Persona::vpc);
          require(
              !kms || (e.volumeKmsKey() != null && e.dataKmsKey() != null),
              p + ".volumeKmsKey/dataKmsKey",
              null,
              "required: a persona is KMS-constrained, and a constraint without a key would constrain nothing");
          require(
              !vpc || (!e.subnets().isEmpty() && !e.securityGroups().isEmpty()),
              p + ".subnets/securityGroups",
              null,
              "required: a persona is VPC-constrained");
        });
    for (int i = 0; i < models.size(); i++) {
      Model m = models.get(i);
      String p = "models[" + i + "]";
      name(p + ".name", m.name());
      require(m.image() != null, p + ".image", null, "required");
      require(
          m.modelDataUrl() == null || s3(m.modelDataUrl()),
          p + ".modelDataUrl",
          m.modelDataUrl(),
          "must be an s3:// location");
      require(
          m.executionRole() == null
              || personas.stream()
                  .anyMatch(x -> x.name().equals(m.executionRole()) && "compute".equals(x.kind())),
          p + ".executionRole",
          m.executionRole(),
          "must name a persona of kind compute");
    }
    for (int i = 0; i < endpointConfigs.size(); i++) {
      EndpointConfigSpec c = endpointConfigs.get(i);
      String p = "endpointConfigs[" + i + "]";
      name(p + ".name", c.name());
      require(!c.variants().isEmpty(), p + ".variants", null, "at least one is required");
      for (int j = 0; j < c.variants().size(); j++) {
        Variant v = c.variants().get(j);
        String q = p + ".variants[" + j + "]";
        require(
            models.stream().anyMatch(m -> m.name().equals(v.model())),
            q + ".model",
            v.model(),
            "is not a model of the spec");
        require(
            (v.instanceType() != null) != (v.serverless() != null),
            q,
            null,
            "exactly one of instanceType (with instanceCount) or serverless is required");
        if (v.serverless() != null) {
          require(
              v.serverless().memoryMb() != null && v.serverless().maxConcurrency() != null,
              q + ".serverless",
              null,
              "memoryMb and maxConcurrency are required");
        }
      }
      if (c.dataCapture() != null) {
        require(
            c.dataCapture().destination() != null && s3(c.dataCapture().destination()),
            p + ".dataCapture.destination",
            c.dataCapture().destination(),
            "must be an s3:// location");
      }
    }
    for (int i = 0; i < endpoints.size(); i++) {
      Endpoint e = endpoints.get(i);
      String p = "endpoints[" + i + "]";
      name(p + ".name", e.name());
      require(
          endpointConfigs.stream().anyMatch(c -> c.name().equals(e.config())),
          p + ".config",
          e.config(),
          "is not an endpoint configuration of the spec");
    }
    for (int i = 0; i < personas.size(); i++) {
      Persona x = personas.get(i);
      String p = "personas[" + i + "]";
      require(
          x.name() != null && x.name().matches("[a-z0-9-]{1,32}"),
          p + ".name",
          x.name(),
          "must be 1 to 32 of a-z, 0-9, -");
      require(
          x.kind() != null && KINDS.contains(x.kind()),
          p + ".kind",
          x.kind(),
          "must be one of " + KINDS);
      try {
        x.effectiveActivities();
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException(p + ".activities: " + e.getMessage(), e);
      }
      for (String s : concat(x.s3Read(), x.s3Write())) {
        require(s3(s), p + ".s3Read/s3Write", s, "must be an s3:// prefix");
      }
      for (String m : x.managedPolicies()) {
        require(
            m.startsWith("arn:aws:iam::"),
            p + ".managedPolicies",
            m,
            "must be a managed policy ARN");
        require(
            !TOO_BROAD.contains(m),
            p + ".managedPolicies",
            m,
            "is far broader than a least-privilege persona; write the few statements needed instead");
      }
      if (x.trustedBy() != null) {
        trust(p + ".trustedBy", x.trustedBy());
      }
    }
  }

  /** An {@code s3://bucket[/key]} URI, as {@link S3Location} (the one parser) reads them. */
  static boolean s3(@Nullable String uri) {
    return uri != null && uri.startsWith("s3://") && S3Location.parse(uri).isPresent();
  }

  private static void format(
      @Nullable String value, Pattern pattern, String field, String expected) {
    if (value == null || !pattern.matcher(value).matches()) {
      throw new IllegalArgumentException(
          field
              + ": expected "
              + expected
              + (value == null ? ", got nothing" : ", got '" + value + "'"));
    }
  }

  private static List<String> concat(List<String> a, List<String> b) {
    return java.util.stream.Stream.concat(a.stream(), b.stream()).toList();
  }

  private static void trust(String field, Trust t) {
    require(
        (t.aws() != null) != (t.oidcProvider() != null),
        field,
        null,
        "exactly one of aws (a principal ARN) or oidcProvider (with subject) is required");
    require(
        t.aws() == null || t.aws().startsWith("arn:aws"),
        field + ".aws",
        t.aws(),
        "must be an ARN");
    require(
        t.oidcProvider() == null
            || (t.oidcProvider().contains(":oidc-provider/") && t.subject() != null),
        field + ".oidcProvider",
        t.oidcProvider(),
        "must be an oidc-provider ARN, with subject set");
  }

  private static void name(String field, @Nullable String value) {
    require(
        value != null && SAGEMAKER_NAME.matcher(value).matches(),
        field,
        value,
        "must match SageMaker's name pattern (letters, digits, hyphens; up to 63)");
  }

  private static void require(boolean ok, String field, @Nullable String value, String message) {
    if (!ok) {
      throw new IllegalArgumentException(
          field + (value == null ? "" : " '" + value + "'") + ": " + message);
    }
  }

  static String lower(String s) {
    return s.toLowerCase(Locale.ROOT);
  }
}
