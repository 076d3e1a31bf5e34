package io.sagegate.config;

import java.time.Duration;
import java.util.List;
import java.util.Locale;
import org.jspecify.annotations.Nullable;

/**
 * Gateway-wide admission: caps on open traffic connections ({@code maxConnections}) and calls in
 * flight ({@code maxInFlight}), 0 meaning no cap (the defaults), and the shared store of the quotas
 * in {@code limits} ({@code store}). Read at start; changing them needs a restart.
 */
public record AdmissionSettings(int maxConnections, int maxInFlight, Store store) {

  /** Without a {@code store} (absent from the file), no shared store: {@link Store#NONE}. */
  public AdmissionSettings(int maxConnections, int maxInFlight, @Nullable Store store) {
    if (maxConnections < 0) {
      throw new IllegalArgumentException(
          "admission.maxConnections: " + maxConnections + " must be 0 (no cap) or more");
    }
    if (maxInFlight < 0) {
      throw new IllegalArgumentException(
          "admission.maxInFlight: " + maxInFlight + " must be 0 (no cap) or more");
    }
    this.maxConnections = maxConnections;
    this.maxInFlight = maxInFlight;
    this.store = store == null ? Store.NONE : store;
  }

  public static AdmissionSettings defaults() {
    return new AdmissionSettings(0, 0, null);
  }

  /**
   * The Redis server (or cluster) the replicas share their counts in. {@code url} ({@code
   * redis://host:6379}, {@code rediss://} for TLS; user and password may be given in it or, better,
   * through {@code SAGEGATE_REDIS_URL}); {@code type} standalone (default) or cluster, whose {@code
   * urls} are the seed nodes; {@code timeout} bounds each call (default 100ms); {@code replicas} is
   * the number of gateway replicas, by which a limit with {@code onStoreError: local} is divided
   * while the store is unreachable (default 1). Without a url, limits are counted in each replica
   * alone.
   */
  public record Store(
      @Nullable String url, List<String> urls, String type, Duration timeout, int replicas) {
    public static final Store NONE = new Store(null, null, null, null, 0);

    /** Absent {@code urls}, {@code type} and {@code timeout} (null) take their defaults. */
    public Store(
        @Nullable String url,
        @Nullable List<String> urls,
        @Nullable String type,
        @Nullable Duration timeout,
        int replicas) {
      this.url = url;
      this.urls = urls == null ? List.of() : List.copyOf(urls);
      this.type = type == null ? "standalone" : type.toLowerCase(Locale.ROOT);
      if (!this.type.equals("standalone") && !this.type.equals("cluster")) {
        throw new IllegalArgumentException(
            "admission.store.type: '" + this.type + "' is not one of standalone, cluster");
      }
      this.timeout = timeout == null ? Duration.ofMillis(100) : timeout;
      if (replicas < 0) {
        throw new IllegalArgumentException(
            "admission.store.replicas: " + replicas + " must be 1 or more");
      }
      this.replicas = replicas == 0 ? 1 : replicas;
    }

    /** Whether a shared store is configured. */
    public boolean configured() {
      return (url != null && !url.isBlank()) || !urls.isEmpty();
    }

    /** The store's endpoints: {@code url} and {@code urls}. */
    public List<String> endpoints() {
      List<String> all = new java.util.ArrayList<>();
      if (url != null && !url.isBlank()) {
        all.add(url);
      }
      all.addAll(urls);
      return all;
    }
  }
}
