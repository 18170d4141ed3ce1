"""The generated client's base class: neurall_client's own transport (retries, error
mapping, multipart uploads, graphql-transport-ws). ariadne-codegen copies this file into
neurall_client/_generated/; the transport itself is hand-written in neurall_client/_transport.py."""

from neurall_client._transport import AsyncTransport


class AsyncBaseClient(AsyncTransport):
    """What every generated operation method calls (execute, get_data, execute_ws)."""
