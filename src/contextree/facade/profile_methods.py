"""The agent and provider methods of ``Workspace`` (``agents``, ``agent``, ``check_agents``,
``providers``, ``provider``, ``add_provider``, ``test_provider``).

Owns nothing but their signatures and documentation: each delegates to ``agent_profiles`` or
``provider_profiles``. They live in this mixin so that ``workspace.py`` stays one screenful of
use cases per area; ``Workspace`` is the only class that inherits it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from contextree.bootstrap import WorkspaceSetup

if TYPE_CHECKING:
    from contextree.facade.agent_profiles import AgentCheck, AgentInfo, AgentList
    from contextree.facade.provider_profiles import (
        NewProvider,
        ProbeResult,
        ProviderAdded,
        ProviderInfo,
        ProviderList,
    )


class ProfileMethods:
    """Mixed into ``Workspace``: its agent and provider profiles."""

    _setup: WorkspaceSetup

    def agents(self) -> AgentList:
        """Every agent: the built-in ones and those of the user's and the workspace's profile
        files, with the ``default_agent`` and the files that could not be used (a broken file
        breaks only its own id). Raises ``AgentConfigError`` when a directory is unreadable."""
        from contextree.facade.agent_profiles import list_agents

        return list_agents(self._setup)

    def agent(self, agent_id: str) -> AgentInfo:
        """The agent ``agent_id``: its profile, what it replaces, whether it is trusted and
        whether it is the default. Raises ``AgentNotFoundError`` (listing the known ids), or
        the ``AgentConfigError`` of a broken profile file defining it."""
        from contextree.facade.agent_profiles import agent_info

        return agent_info(self._setup, agent_id)

    def check_agents(self, agent_id: str | None = None) -> AgentCheck:
        """Load every agent profile file under the rules of a run (or only those defining
        ``agent_id``) and check the default agent; ``result.ok`` says whether all is well.
        Raises ``AgentNotFoundError`` when ``agent_id`` is neither built in nor defined by a
        file."""
        from contextree.facade.agent_profiles import check_agent_files

        return check_agent_files(self._setup, agent_id)

    def providers(self) -> ProviderList:
        """Every provider profile (the built-in ``structural``, the user's and the
        workspace's), each with whether its key variable is set and whether it is trusted,
        and the profile files that could not be used."""
        from contextree.facade.provider_profiles import list_providers

        return list_providers(self._setup)

    def provider(self, name: str) -> ProviderInfo:
        """The provider profile ``name`` as it will be used. Raises ``ProviderConfigError``
        when there is none or its file is broken."""
        from contextree.facade.provider_profiles import provider_info

        return provider_info(self._setup, name)

    def add_provider(
        self, new: NewProvider, *, user: bool = False, force: bool = False
    ) -> ProviderAdded:
        """Write the profile ``new`` to ``.contextree/providers/NAME.toml`` and approve it as
        written (the user made it), or with ``user`` to the user's ``providers`` directory.
        Returns where it went. Raises ``ProviderConfigError`` for an invalid profile, or when
        the file exists and not ``force``."""
        from contextree.facade.provider_profiles import add_provider

        return add_provider(None if user else self._setup, new, force=force)

    async def test_provider(self, name: str) -> ProbeResult:
        """Send one tiny request through the profile ``name`` (``asyncio.run(ws.test_provider(
        "x"))``) and return latency, served model and any error class: a failed request is a
        result (``ok`` false), not an error. Raises ``ProviderConfigError`` before any request
        when ``name`` is a workspace profile this user has not approved (as the CLI refuses
        it; ``trust`` approves it), unknown or broken, or its key variable is unset."""
        from contextree.facade.provider_profiles import test_provider

        return await test_provider(self._setup, name)
