# sagegate container image: a JRE, the one jar, conf/ (the embedded default is inside the jar;
# conf/ carries the annotated examples). Build the jar first:
#   mvn -DskipTests package && docker build -t sagegate .
# BASE_IMAGE: any glibc Java 17+ JRE image (Netty's native epoll library needs glibc: never Alpine).
# CI builds on a local Debian base (deploy/local-base.sh) because no registry is reachable there.
ARG BASE_IMAGE=eclipse-temurin:17-jre
FROM ${BASE_IMAGE}

# Files belong to root and are read-only for the gateway, which never writes beside its jar; group 0
# can read them, so OpenShift's arbitrary UIDs (always in group 0) run the image unchanged.
COPY --chown=0:0 --chmod=0644 target/sagegate.jar /opt/sagegate/sagegate.jar
COPY --chown=0:0 conf/ /opt/sagegate/conf/

# The root filesystem is read-only at run time: /tmp (an emptyDir or tmpfs) is the only writable
# place. Netty unpacks its native library into java.io.tmpdir; the development issuer's key (embedded
# default only) goes under SAGEGATE_HOME.
ENV SAGEGATE_HOME=/tmp/sagegate \
    LANG=C.UTF-8
WORKDIR /opt/sagegate

# A numeric non-root user in group 0: Kubernetes can check runAsNonRoot without a passwd entry.
USER 10001:0

# 8080: traffic (SageMaker Runtime wire API); 9464: management (/healthz, /readyz, /metrics).
EXPOSE 8080 9464

# Exec form: the JVM is PID 1 and gets SIGTERM itself (it drains, then exits 0).
# The heap follows the container's memory limit; an OutOfMemoryError ends the process, so the
# orchestrator restarts it instead of leaving a half-working JVM. Add flags with JAVA_TOOL_OPTIONS.
ENTRYPOINT ["java", "-XX:MaxRAMPercentage=75", "-XX:+ExitOnOutOfMemoryError", "-Djava.io.tmpdir=/tmp", "-jar", "/opt/sagegate/sagegate.jar"]
CMD ["serve"]
