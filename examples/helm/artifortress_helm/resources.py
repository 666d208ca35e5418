"""The chart repository's HTTP resources."""

from __future__ import annotations

import datetime as dt

import falcon

from artifortress.plugin import REMOTE, Gateway, NewFile, Permission, requires
from artifortress.plugin.scratch import scratch_file
from artifortress_helm import remote
from artifortress_helm.charts import read_chart_yaml, render_index

CHUNK = 1024 * 1024
MAX_CHART = 64 * 1024 * 1024


class IndexResource:
    @requires(Permission.READ)
    def on_get(self, req: falcon.Request, resp: falcon.Response, repo: str) -> None:
        """The repository's ``index.yaml``, rebuilt only after a change (a remote's: upstream's)."""
        gateway = Gateway(req)
        where = gateway.repo
        if where.kind == REMOTE:
            resp.content_type = "application/x-yaml"
            resp.data = remote.index(gateway, where)
            return

        def build() -> bytes:
            # Relative to index.yaml, as Helm resolves them: the stored index must not
            # carry the host name of whichever client happened to trigger the rebuild.
            entries = [
                (version, f"charts/{version.artifacts[0].filename}")
                for package in gateway.packages(where)
                for version in gateway.versions(where, package.name)
            ]
            return render_index(entries, dt.datetime.now(dt.UTC))

        doc = gateway.rendered(
            where, "index.yaml", package=None, content_type="application/x-yaml", build=build
        )
        gateway.send_rendered(resp, doc, vary=())


class ChartResource:
    @requires(Permission.READ)
    def on_get(self, req: falcon.Request, resp: falcon.Response, repo: str, filename: str) -> None:
        """Download ``{name}-{version}.tgz`` (a remote fetches it on first request)."""
        gateway = Gateway(req)
        if gateway.repo.kind == REMOTE:
            remote.send_chart(gateway, resp, gateway.repo, filename)
            return
        name, _, version = filename.removesuffix(".tgz").rpartition("-")
        gateway.send_artifact(
            resp, gateway.repo, name, version, filename, media_type="application/gzip"
        )


class UploadResource:
    @requires(Permission.WRITE, action="version.publish", publishes=True)
    def on_post(self, req: falcon.Request, resp: falcon.Response, repo: str) -> None:
        """Upload a chart archive (the request body); its Chart.yaml names it."""
        gateway = Gateway(req)
        with scratch_file() as path:  # a killed worker's is removed by the next to start
            with path.open("wb") as out:
                for chunk in gateway.request_body(MAX_CHART):
                    out.write(chunk)
            chart = read_chart_yaml(path)
            with path.open("rb") as data:
                blob = gateway.ingest(gateway.repo, iter(lambda: data.read(CHUNK), b""))
        name, version = str(chart["name"]), str(chart["version"])
        filename = f"{name}-{version}.tgz"
        gateway.publish(
            gateway.repo,
            name,
            version,
            [NewFile(filename, blob, "application/gzip")],
            metadata=chart,
        )
        resp.status = falcon.HTTP_201
        resp.media = {"saved": True, "name": name, "version": version}


class ChartVersionResource:
    @requires(Permission.WRITE, action="version.delete")
    def on_delete(
        self, req: falcon.Request, resp: falcon.Response, repo: str, name: str, version: str
    ) -> None:
        """Delete a chart version (tombstone first; restorable by an admin)."""
        gateway = Gateway(req)
        gateway.delete_version(gateway.repo, name, version)
        resp.media = {"deleted": True}
