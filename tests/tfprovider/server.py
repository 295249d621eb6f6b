"""The provider process Terraform launches: go-plugin's handshake, then protocol 6 over gRPC.

``python -m tests.tfprovider.server aws|tls`` with ``TFPROVIDER_HOME`` pointing at the folder
``build.py`` prepared (compiled protocol modules, the served schema, a TLS key pair). The
handshake line is ``1|6|tcp|127.0.0.1:PORT|grpc|CERT``: core protocol 1, app protocol 6, CERT
the server certificate's DER in base64 without padding (go-plugin decodes it with
RawStdEncoding; Terraform pins it and offers a client certificate we do not require).
"""

from __future__ import annotations

import base64
import json
import os
import sys
import threading
from concurrent import futures
from pathlib import Path
from typing import Any

HOME = Path(os.environ.get("TFPROVIDER_HOME", ""))
sys.path.insert(0, str(HOME / "gen"))

import grpc
import grpc_controller_pb2 as ctl_pb
import grpc_controller_pb2_grpc as ctl_grpc
import tfplugin6_pb2 as pb
import tfplugin6_pb2_grpc as pb_grpc

from tests.tfprovider import datasources, semantics, values, world
from tests.tfprovider.schema import to_proto
from tests.tfprovider.synthetic import Context


def _dv(value: Any) -> Any:
    return pb.DynamicValue(msgpack=values.encode(value))


def _val(dv: Any) -> Any:
    if dv is None:
        return None
    if dv.msgpack:
        return values.decode(dv.msgpack)
    if dv.json:
        return json.loads(dv.json)
    return None


def _error(summary: str, detail: str = "") -> Any:
    return pb.Diagnostic(severity=pb.Diagnostic.ERROR, summary=summary, detail=detail)


class Provider(pb_grpc.ProviderServicer):
    """Protocol 6 over the served typed schema; semantics in ``semantics.py``."""

    def __init__(self, name: str, schema: dict[str, Any], stop: threading.Event):
        self.name = name
        self.schema = schema
        self.stop = stop
        self.ctx = Context(
            region=os.environ.get("TFPROVIDER_REGION", "ap-northeast-1"),
            account_id=os.environ.get("TFPROVIDER_ACCOUNT_ID", "123456789012"),
        )
        self._response = self._schema_response()

    def _schema_response(self) -> Any:
        resp = pb.GetProviderSchema.Response()
        resp.provider.block.CopyFrom(to_proto(pb, self.schema["provider"]))
        for tf_type, block in self.schema["resource"].items():
            resp.resource_schemas[tf_type].block.CopyFrom(to_proto(pb, block))
        for tf_type, block in self.schema["data"].items():
            resp.data_source_schemas[tf_type].block.CopyFrom(to_proto(pb, block))
        for tf_type, block in self.schema["ephemeral"].items():
            resp.ephemeral_resource_schemas[tf_type].block.CopyFrom(to_proto(pb, block))
        resp.server_capabilities.plan_destroy = True
        resp.server_capabilities.get_provider_schema_optional = False
        return resp

    # -- schema and validation ------------------------------------------------------------

    def GetMetadata(self, request, context):
        resp = pb.GetMetadata.Response()
        resp.server_capabilities.plan_destroy = True
        for tf_type in self.schema["resource"]:
            resp.resources.add(type_name=tf_type)
        for tf_type in self.schema["data"]:
            resp.data_sources.add(type_name=tf_type)
        for tf_type in self.schema["ephemeral"]:
            resp.ephemeral_resources.add(type_name=tf_type)
        return resp

    def GetProviderSchema(self, request, context):
        return self._response

    def ValidateProviderConfig(self, request, context):
        return pb.ValidateProviderConfig.Response()

    def ValidateResourceConfig(self, request, context):
        return pb.ValidateResourceConfig.Response()

    def ValidateDataResourceConfig(self, request, context):
        return pb.ValidateDataResourceConfig.Response()

    def ValidateEphemeralResourceConfig(self, request, context):
        return pb.ValidateEphemeralResourceConfig.Response()

    def ConfigureProvider(self, request, context):
        config = _val(request.config) or {}
        if isinstance(config.get("region"), str):
            self.ctx.region = config["region"]
        for block in config.get("default_tags") or []:
            if isinstance(block, dict) and isinstance(block.get("tags"), dict) and values.is_known(block["tags"]):
                self.ctx.default_tags.update(block["tags"])
        return pb.ConfigureProvider.Response()

    # -- managed resources ----------------------------------------------------------------

    def UpgradeResourceState(self, request, context):
        raw = json.loads(request.raw_state.json or b"null")
        return pb.UpgradeResourceState.Response(upgraded_state=_dv(raw))

    def ReadResource(self, request, context):
        return pb.ReadResource.Response(new_state=request.current_state, private=request.private)

    def PlanResourceChange(self, request, context):
        block = self.schema["resource"][request.type_name]
        planned = semantics.plan(
            self.ctx, block, _val(request.prior_state), _val(request.proposed_new_state), _val(request.config)
        )
        return pb.PlanResourceChange.Response(planned_state=_dv(planned), planned_private=request.prior_private)

    def ApplyResourceChange(self, request, context):
        block = self.schema["resource"][request.type_name]
        new_state = semantics.apply(self.ctx, block, _val(request.planned_state), request.type_name)
        world.record_apply(request.type_name, _val(request.config), new_state)
        return pb.ApplyResourceChange.Response(new_state=_dv(new_state), private=request.planned_private)

    def ImportResourceState(self, request, context):
        return pb.ImportResourceState.Response(
            diagnostics=[_error("Import is not modelled", "the provider stand-in cannot import")]
        )

    # -- data sources and ephemeral resources ---------------------------------------------

    def ReadDataSource(self, request, context):
        block = self.schema["data"][request.type_name]
        config = _val(request.config) or {}
        canned = datasources.canned(request.type_name, self.ctx, config)
        state = semantics.read_data(self.ctx, block, config, request.type_name, canned)
        return pb.ReadDataSource.Response(state=_dv(state))

    def OpenEphemeralResource(self, request, context):
        block = self.schema["ephemeral"][request.type_name]
        config = _val(request.config) or {}
        result = semantics.read_data(self.ctx, block, config, request.type_name, {})
        return pb.OpenEphemeralResource.Response(result=_dv(result))

    def RenewEphemeralResource(self, request, context):
        return pb.RenewEphemeralResource.Response()

    def CloseEphemeralResource(self, request, context):
        return pb.CloseEphemeralResource.Response()

    def StopProvider(self, request, context):
        return pb.StopProvider.Response()


class Controller(ctl_grpc.GRPCControllerServicer):
    def __init__(self, stop: threading.Event):
        self.stop = stop

    def Shutdown(self, request, context):
        self.stop.set()
        return ctl_pb.Empty()


class Stdio(ctl_grpc.GRPCStdioServicer):
    def StreamStdio(self, request, context):
        return iter(())


def main(argv: list[str]) -> int:
    name = argv[0]
    schema = json.loads((HOME / f"{name}.schema.json").read_text())
    key, cert_pem, cert_der = ((HOME / f).read_bytes() for f in ("key.pem", "cert.pem", "cert.der"))
    stop = threading.Event()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=8))
    pb_grpc.add_ProviderServicer_to_server(Provider(name, schema, stop), server)
    ctl_grpc.add_GRPCControllerServicer_to_server(Controller(stop), server)
    ctl_grpc.add_GRPCStdioServicer_to_server(Stdio(), server)
    creds = grpc.ssl_server_credentials([(key, cert_pem)], root_certificates=None, require_client_auth=False)
    port = server.add_secure_port("127.0.0.1:0", creds)
    server.start()
    cert = base64.b64encode(cert_der).decode().rstrip("=")
    sys.stdout.write(f"1|6|tcp|127.0.0.1:{port}|grpc|{cert}\n")
    sys.stdout.flush()
    stop.wait()
    server.stop(grace=0.2)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
