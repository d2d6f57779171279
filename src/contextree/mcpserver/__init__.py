"""The MCP server: ``contextree mcp`` serves a workspace's frames to AI agents over the Model
Context Protocol, on stdio or streamable HTTP, through the official ``mcp`` SDK.

Owns nothing itself; its modules each own one part: ``tools`` the tool names, descriptions and
JSON schemas a model reads; ``calls`` the handlers (each a thin call on the facade
``Workspace``) and the errors they turn into; ``answers`` the JSON each tool returns, freshness
included; ``server`` the SDK server and the stdio transport; ``http`` the streamable-HTTP
transport with its Host/Origin and bearer checks. Like the CLI it is a client of
``contextree.facade`` and nothing below it. Importing this package does not import the SDK
(only ``server`` and ``http`` do), and nothing imports it but the ``mcp`` command.
"""
