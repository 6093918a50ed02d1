"""Two independent HDFS clusters, ``prod-a`` and ``prod-b``, from Apache Hadoop's mini cluster.

Each cluster is one JVM running ``org.apache.hadoop.test.MiniDFSClusterManager`` (a name node and
a data node, WebHDFS on the name node's HTTP port) from jars resolved on Maven Central, so the
storage layer talks to the real WebHDFS implementation, redirects to data nodes included.

The two clusters differ on purpose: ``prod-a`` enforces permissions (home folders for ``alice``
and ``bob``, a ``/restricted`` folder only the superuser may enter) so permission errors can be
tested; ``prod-b`` has permissions off. Both accept the superuser as a proxy user, so ``doas``
works. A cluster can be stopped and restarted on the same ports (no re-format, data kept) for
failover tests, and :meth:`HdfsClusters.dead_namenode_url` names a port that refuses connections,
to put a dead name node first in an HA list.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import hdfs as hdfscli
import requests

from .base import (
    Component,
    ComponentError,
    ManagedProcess,
    cache_dir,
    free_port,
    run,
    wait_until,
)

log = logging.getLogger(__name__)

#: Hadoop release of the mini cluster; 3.4.x runs on Java 17 without ``--add-opens`` flags.
HADOOP_VERSION = "3.4.1"
#: Cluster name -> whether HDFS permissions are enforced.
CLUSTERS: dict[str, bool] = {"prod-a": True, "prod-b": False}
#: The name node runs as this user (``HADOOP_USER_NAME``), which makes it the HDFS superuser. A
#: fixed name keeps it apart from the OS user and from the test users on every machine.
SUPERUSER = "hdfs"
#: Ordinary users that get a home folder ``/user/<name>`` owned by them on each cluster.
USERS = ("alice", "bob")
RESTRICTED = "/restricted"

MAIN_CLASS = "org.apache.hadoop.test.MiniDFSClusterManager"
START_TIMEOUT = 240.0  # two JVMs start at once on a shared 2-core machine
JVM_OPTIONS = (
    "-Xms64m",
    "-Xmx512m",
    # One GC thread and no G1 regions: a smaller resident set for two JVMs side by side.
    "-XX:+UseSerialGC",
    "-Djava.net.preferIPv4Stack=true",
)

# Test-scope dependencies of the Hadoop test jars are not transitive, hence the explicit
# hadoop-hdfs/hadoop-common test jars (MiniDFSClusterManager lives in the former), junit and
# mockito, which the mini cluster's classes load.
POM = f"""<?xml version="1.0" encoding="UTF-8"?>
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>jupyter-mlplat</groupId>
  <artifactId>devcluster-hdfs</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <properties>
    <project.build.sourceEncoding>UTF-8</project.build.sourceEncoding>
  </properties>
  <dependencies>
    <dependency>
      <groupId>org.apache.hadoop</groupId>
      <artifactId>hadoop-minicluster</artifactId>
      <version>{HADOOP_VERSION}</version>
    </dependency>
    <dependency>
      <groupId>org.apache.hadoop</groupId>
      <artifactId>hadoop-hdfs</artifactId>
      <version>{HADOOP_VERSION}</version>
      <type>test-jar</type>
    </dependency>
    <dependency>
      <groupId>org.apache.hadoop</groupId>
      <artifactId>hadoop-common</artifactId>
      <version>{HADOOP_VERSION}</version>
      <type>test-jar</type>
    </dependency>
    <dependency>
      <groupId>junit</groupId>
      <artifactId>junit</artifactId>
      <version>4.13.2</version>
    </dependency>
    <dependency>
      <groupId>org.mockito</groupId>
      <artifactId>mockito-core</artifactId>
      <version>4.11.0</version>
    </dependency>
  </dependencies>
  <build>
    <plugins>
      <plugin>
        <groupId>org.apache.maven.plugins</groupId>
        <artifactId>maven-dependency-plugin</artifactId>
        <version>3.8.1</version>
      </plugin>
    </plugins>
  </build>
</project>
"""

# The test jars' log4j.properties logs every RPC at INFO (audit lines per request), which costs
# CPU in benchmarks and buries errors; keep warnings, plus the lines that say the cluster is up.
LOG4J = """\
log4j.rootLogger=WARN,stdout
log4j.appender.stdout=org.apache.log4j.ConsoleAppender
log4j.appender.stdout.layout=org.apache.log4j.PatternLayout
log4j.appender.stdout.layout.ConversionPattern=%d{ISO8601} %-5p [%t] %c{2} - %m%n
log4j.logger.org.apache.hadoop.test.MiniDFSClusterManager=INFO
log4j.logger.org.apache.hadoop.hdfs.MiniDFSCluster=INFO
"""


def _tool(name: str, package: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise ComponentError(f"hdfs: `{name}` not found on PATH (Debian package: {package})")
    return path


def class_archive(java: str, classpath: str) -> Path:
    """The class-data-sharing archive for this JVM and class path (written on first use).

    Loading and verifying ~190 jars' classes dominates a cold JVM start; a dynamic CDS archive of
    the classes a mini cluster loads cuts the start of each cluster by several seconds, which
    matters for restarts in failover tests. The JVM ignores (with a warning) an archive that does
    not match its build or class path, so a stale one only costs speed.
    """
    key = "\n".join([os.path.realpath(java), classpath, *JVM_OPTIONS])
    digest = hashlib.sha256(key.encode()).hexdigest()[:12]
    return cache_dir("hdfs") / f"classes-{digest}.jsa"


def classpath_file() -> Path:
    """Where the resolved class path is cached; named by the POM's hash so edits re-resolve."""
    digest = hashlib.sha256(POM.encode()).hexdigest()[:12]
    return cache_dir("hdfs") / f"classpath-{digest}.txt"


def cached_classpath() -> str | None:
    """The cached class path if every jar in it is still in the Maven repository, else None."""
    path = classpath_file()
    if not path.exists():
        return None
    classpath = path.read_text().strip()
    jars = classpath.split(os.pathsep) if classpath else []
    if not jars or not all(Path(jar).is_file() for jar in jars):
        return None
    return classpath


def log4j_file() -> Path:
    path = cache_dir("hdfs") / "log4j.properties"
    if not path.exists() or path.read_text() != LOG4J:
        path.write_text(LOG4J)
    return path


@dataclass
class MiniCluster:
    """One mini cluster: its fixed ports (kept across restarts) and its folders."""

    name: str
    permissions: bool
    home: Path
    rpc_port: int = field(default_factory=free_port)
    http_port: int = field(default_factory=free_port)
    process: ManagedProcess | None = None
    launched_at: float = 0.0
    #: Seconds from launching the JVM until WebHDFS accepted a write, for the last start.
    start_seconds: float | None = None

    @property
    def base_dir(self) -> Path:
        return self.home / "dfs"

    @property
    def webhdfs_url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def rpc_address(self) -> str:
        return f"127.0.0.1:{self.rpc_port}"

    def command(self, java: str, classpath: str, jvm_flags: Sequence[str], *,
                fmt: bool) -> list[str]:
        """The launcher command; ``fmt`` wipes and formats the base dir (first start only)."""
        settings = {
            # The default base dir is relative to the working directory: two clusters would clash.
            "hdfs.minidfs.basedir": str(self.base_dir),
            "dfs.permissions.enabled": str(self.permissions).lower(),
            "dfs.webhdfs.enabled": "true",
            # OPEN/CREATE redirect to the data node's HTTP address: keep it on loopback.
            "dfs.datanode.http.address": "127.0.0.1:0",
            f"hadoop.proxyuser.{SUPERUSER}.hosts": "*",
            f"hadoop.proxyuser.{SUPERUSER}.groups": "*",
        }
        cmd = [
            java, *JVM_OPTIONS, f"-Dlog4j.configuration=file:{log4j_file()}", *jvm_flags,
            "-cp", classpath, MAIN_CLASS,
            "-nnport", str(self.rpc_port), "-httpport", str(self.http_port), "-datanodes", "1",
            "-writeConfig", str(self.home / "hdfs-site.xml"),
            "-writeDetails", str(self.home / "details.json"),
        ]
        if fmt:
            cmd.append("-format")
        for key, value in settings.items():  # -D takes several values: keep these last
            cmd += ["-D", f"{key}={value}"]
        return cmd

    def client(self, user: str = SUPERUSER, timeout: float = 10.0) -> hdfscli.InsecureClient:
        return hdfscli.InsecureClient(self.webhdfs_url, user=user, timeout=timeout)

    def answers(self) -> bool:
        """WebHDFS lists ``/`` and a small write succeeds, i.e. a data node is live."""
        response = requests.get(
            f"{self.webhdfs_url}/webhdfs/v1/",
            params={"op": "LISTSTATUS", "user.name": SUPERUSER}, timeout=5,
        )
        if response.status_code != 200:
            return False
        client = self.client(timeout=5)
        probe = f"/.devcluster-probe-{os.getpid()}"
        client.write(probe, data=b"ok", overwrite=True)
        client.delete(probe)
        return True

    def lay_out(self) -> None:
        """Folders the tests rely on: user homes, a superuser-only folder, a shared /tmp."""
        client = self.client()
        for user in (*USERS, SUPERUSER):
            client.makedirs(f"/user/{user}", permission="755")
            client.set_owner(f"/user/{user}", owner=user)
        client.makedirs(RESTRICTED, permission="700")
        client.makedirs("/tmp", permission="1777")

    def info(self) -> dict[str, Any]:
        return {
            "webhdfs": [self.webhdfs_url],
            "rpc": self.rpc_address,
            "fs_uri": f"hdfs://{self.rpc_address}",
            "superuser": SUPERUSER,
            "users": list(USERS),
            "permissions": self.permissions,
            "restricted": RESTRICTED,
            "base_dir": str(self.base_dir),
            "hadoop_conf": str(self.home / "hdfs-site.xml"),
            "running": self.process is not None,
        }


def build_class_archive(java: str, classpath: str) -> None:
    """Run a throw-away cluster with ``-XX:ArchiveClassesAtExit`` and keep what it writes.

    The JVM writes the archive while it exits (seconds, more on a busy machine), so it gets a
    SIGTERM and a long grace period; an archive from a JVM that had to be killed is dropped.
    """
    archive = class_archive(java, classpath)
    partial = archive.with_name(f"{archive.name}.{os.getpid()}.partial")
    with tempfile.TemporaryDirectory(prefix="mlplat-hdfs-archive-") as tmp:
        cluster = MiniCluster("archive", permissions=True, home=Path(tmp))
        flags = [f"-XX:ArchiveClassesAtExit={partial}", "-Xlog:cds=error"]
        process = ManagedProcess(
            "hdfs-class-archive", cluster.command(java, classpath, flags, fmt=True),
            log_path=cache_dir("hdfs") / "class-archive.log", cwd=cluster.home,
            env={"HADOOP_USER_NAME": SUPERUSER},
        ).start()
        try:
            wait_until(cluster.answers, timeout=START_TIMEOUT, interval=0.5, alive=process.died,
                       what=f"HDFS test cluster (log {process.log_path})")
            cluster.lay_out()  # load the classes of the requests tests make, too
            complete = _exit_gracefully(process, timeout=180)
        finally:
            process.stop()
    if complete and partial.exists() and partial.stat().st_size > 0:
        os.replace(partial, archive)
    else:
        partial.unlink(missing_ok=True)
        log.warning("hdfs: no class archive written; clusters start without one (slower)")


def _exit_gracefully(process: ManagedProcess, timeout: float) -> bool:
    """SIGTERM ``process`` and wait; False if it had not exited cleanly within ``timeout``."""
    popen = process.proc
    if popen is None:
        return False
    popen.send_signal(signal.SIGTERM)
    try:
        code = popen.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        return False
    return code in (0, 128 + signal.SIGTERM, -signal.SIGTERM)


class HdfsClusters(Component):
    """``prod-a`` (permissions on) and ``prod-b`` (permissions off), started side by side."""

    name = "hdfs"

    def __init__(self, workdir: Path) -> None:
        super().__init__(workdir)
        self.clusters = {
            name: MiniCluster(name, permissions, self.workdir / name)
            for name, permissions in CLUSTERS.items()
        }
        self._distinct_ports()
        self._classpath: str | None = None
        self._dead: socket.socket | None = None

    def _distinct_ports(self) -> None:
        """Re-pick a port that :func:`free_port` handed out twice (it closes its probe socket)."""
        taken: set[int] = set()
        for cluster in self.clusters.values():
            while cluster.rpc_port in taken:
                cluster.rpc_port = free_port()
            taken.add(cluster.rpc_port)
            while cluster.http_port in taken:
                cluster.http_port = free_port()
            taken.add(cluster.http_port)

    # -- build ---------------------------------------------------------------------------------
    def build(self) -> None:
        """Resolve the jars from Maven Central and archive the classes a cluster loads, once.

        Making the class archive starts (and stops) a throw-away cluster, so a build that
        succeeds has also shown that the resolved jars run on this JVM.
        """
        self._classpath = cached_classpath() or self._resolve_classpath()
        java = _tool("java", "openjdk-17-jre-headless")
        if not class_archive(java, self._classpath).exists():
            build_class_archive(java, self._classpath)

    def _resolve_classpath(self) -> str:
        mvn = _tool("mvn", "maven")
        project = cache_dir("hdfs", "project")
        (project / "pom.xml").write_text(POM)
        output = classpath_file()
        run(
            [mvn, "-q", "-B", f"-Dmaven.repo.local={cache_dir('m2')}",
             "dependency:build-classpath", f"-Dmdep.outputFile={output}"],
            cwd=project, what="resolving the Hadoop mini cluster jars", timeout=1800,
        )
        classpath = cached_classpath()
        if classpath is None:
            raise ComponentError(f"hdfs: Maven wrote no usable class path to {output}")
        return classpath

    # -- start / stop --------------------------------------------------------------------------
    def start(self) -> None:
        """Format and start both clusters at once, wait for each, then lay out their folders.

        On failure everything started is stopped here: the sandbox only stops components that
        came up, so a half-started one must not leave a JVM behind.
        """
        try:
            for cluster in self.clusters.values():
                self._launch(cluster, fmt=True)
            for cluster in self.clusters.values():
                self._wait(cluster)
                cluster.lay_out()
        except BaseException:
            self.stop()
            raise

    def stop_cluster(self, name: str) -> None:
        """Stop one cluster (name node and data node); :meth:`start_cluster` brings it back.

        Its data stays on disk and :meth:`info` keeps naming its ports, so a test sees exactly
        what a client of a crashed name node sees: connection refused on a known address.
        """
        cluster = self.cluster(name)
        if cluster.process is None:
            return
        cluster.process.stop()
        with contextlib.suppress(ValueError):
            self.processes.remove(cluster.process)
        cluster.process = None

    def start_cluster(self, name: str) -> None:
        """Restart a stopped cluster on the same ports with its data (no re-format)."""
        cluster = self.cluster(name)
        if cluster.process is not None:
            return
        self._launch(cluster, fmt=False)
        self._wait(cluster)

    def stop(self) -> None:
        for name in self.clusters:
            self.stop_cluster(name)
        super().stop()
        if self._dead is not None:
            self._dead.close()
            self._dead = None

    def _launch(self, cluster: MiniCluster, *, fmt: bool) -> None:
        if self._classpath is None:
            raise ComponentError("hdfs: call build() before start()")
        cluster.home.mkdir(parents=True, exist_ok=True)
        java = _tool("java", "openjdk-17-jre-headless")
        flags = []
        archive = class_archive(java, self._classpath)
        if archive.exists():
            flags.append(f"-XX:SharedArchiveFile={archive}")
        cmd = cluster.command(java, self._classpath, flags, fmt=fmt)
        cluster.launched_at = time.monotonic()
        cluster.process = self.spawn(
            cluster.name, cmd, cwd=cluster.home, env={"HADOOP_USER_NAME": SUPERUSER},
        )

    def _wait(self, cluster: MiniCluster) -> None:
        process = cluster.process
        assert process is not None
        try:
            wait_until(cluster.answers, timeout=START_TIMEOUT, interval=0.5,
                       what=f"HDFS cluster {cluster.name} (log {process.log_path})",
                       alive=process.died)
        except ComponentError:
            self.stop_cluster(cluster.name)
            raise
        cluster.start_seconds = round(time.monotonic() - cluster.launched_at, 1)

    # -- for tests -----------------------------------------------------------------------------
    def cluster(self, name: str) -> MiniCluster:
        try:
            return self.clusters[name]
        except KeyError:
            raise ComponentError(
                f"unknown HDFS cluster {name!r}; valid: {', '.join(self.clusters)}"
            ) from None

    def client(self, name: str, user: str = SUPERUSER) -> hdfscli.InsecureClient:
        """An HdfsCLI client of cluster ``name`` acting as ``user`` (simple auth)."""
        return self.cluster(name).client(user)

    def dead_namenode_url(self) -> str:
        """A loopback URL whose port is bound but not listening: connections are refused at once.

        Holding the bound socket keeps any other process from taking the port while the
        component runs, so the URL stays dead for an HA-list test.
        """
        if self._dead is None:
            self._dead = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            self._dead.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{self._dead.getsockname()[1]}"

    def info(self) -> dict[str, Any]:
        return {
            "hadoop_version": HADOOP_VERSION,
            "clusters": {name: cluster.info() for name, cluster in self.clusters.items()},
        }


def platform_config(info: dict[str, Any]) -> dict[str, Any]:
    """Storage entries for the running clusters: WebHDFS with simple auth as the superuser."""
    return {
        "storage": [
            {"name": name, "kind": "webhdfs", "namenodes": list(cluster["webhdfs"]),
             "user": cluster["superuser"]}
            for name, cluster in info["clusters"].items()
        ]
    }
