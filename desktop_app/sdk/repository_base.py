"""The base of every repository (dl.models, project.datasets, feature_set.features ...): client, scope, keywords."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .keywords import check_public_methods

if TYPE_CHECKING:
    from .client import Client


@check_public_methods
class Repository:
    """dl.models, project.datasets, ...: every public method refuses an unknown keyword argument naming the
    closest one it takes (domain.keywords); Dataloop's cloud-only keywords are listed per call.

    Kept apart from sdk.repositories (which imports the Model) so that sdk.features, which the Model reaches its
    feature set through, can build on it without an import cycle."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        check_public_methods(cls)

    def __init__(self, client: Client, **scope: Any):
        self._client = client
        self._scope = scope

    @property
    def catalog(self):
        return self._client.catalog
