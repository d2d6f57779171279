"""The composition root: the one place that builds concrete objects from configuration.

``setup`` turns a directory and the environment into a configured workspace and opens its
store; ``profiles`` builds the agent and provider registries (with each workspace profile's
trust) and the context API; ``generation`` builds the machinery of a run (HTTP session,
limits, collector, orchestrator, queue, executor, checkpointer) inside the run's event loop.
Nothing else reads configuration files or builds clients; nothing here runs at import time.
What trust means for a command lives one layer up, in ``contextree.trust_review``; the use
cases that put these objects to work live in ``contextree.facade``.

This package re-exports the synchronous builders; ``contextree.bootstrap.generation`` is
imported only by a generation run, so reading commands never load the provider stack.
"""

from contextree.bootstrap.profiles import (
    agent_dirs,
    check_agents,
    configured_secret_values,
    context_api,
    load_agents,
    load_providers,
    probe_http,
    prompt_file_withheld,
    provider_dirs,
    provider_facts,
    trust_store,
    user_provider_dir,
    workspace_trust,
)
from contextree.bootstrap.setup import (
    WorkspaceSetup,
    check_provenance,
    ignore_options,
    load_workspace,
    open_store,
    open_store_for_reading,
    scan_options,
    scanner,
    store_records,
    tree_rows,
)

__all__ = [
    "WorkspaceSetup",
    "agent_dirs",
    "check_agents",
    "check_provenance",
    "configured_secret_values",
    "context_api",
    "ignore_options",
    "load_agents",
    "load_providers",
    "load_workspace",
    "open_store",
    "open_store_for_reading",
    "probe_http",
    "prompt_file_withheld",
    "provider_dirs",
    "provider_facts",
    "scan_options",
    "scanner",
    "store_records",
    "tree_rows",
    "trust_store",
    "user_provider_dir",
    "workspace_trust",
]
