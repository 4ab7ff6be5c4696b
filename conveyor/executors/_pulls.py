"""Image pulls for the container executors: as imagePullPolicy says, one at a time per image.

https://kubernetes.io/docs/concepts/containers/images/#image-pull-policy
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

from conveyor.executors._oci import pull_mode
from conveyor.executors._registry import registry_of

__all__ = ["ImagePulls"]

Cred = tuple[str, str]  # user, password


class ImagePulls:
    """`ensure_image` for an executor; subclasses say what id an image has (None: not present) and how to pull it."""

    def __init__(self) -> None:
        self._present: set[str] = set()  # images known present: no look for them again
        self._pulls: dict[tuple[str, Cred | None], asyncio.Task[str | None]] = {}
        self._ids: dict[str, str | None] = {}  # image -> its content id, until it is pulled again

    async def _inspect_id(self, image: str) -> str | None:
        """The image's content id (`sha256:...`) as the runtime stores it; None when the runtime has no such image."""
        raise NotImplementedError

    async def image_id(self, image: str) -> str | None:
        """What `image` names right now, by content: recorded on the node so a run can be reproduced."""
        if image not in self._ids:
            found = await self._inspect_id(image)
            if found and not found.startswith("sha256:"):
                found = f"sha256:{found}"
            self._ids[image] = found
        return self._ids[image]

    async def _pull(self, image: str, host: str, cred: Cred | None, missing: tuple[str, ...]) -> str | None:
        """Pull `image` from registry `host` with `cred`; a string says why it could not."""
        raise NotImplementedError

    async def ensure_image(self, image: str, policy: str | None, auths: Mapping[str, Cred] | None = None,
                           missing: tuple[str, ...] = ()) -> str | None:
        """Pull as the policy says, with `auths` (host -> user, password: imagePullSecrets); a string says why not."""
        mode = pull_mode(policy)
        if mode != "always" and image in self._present:
            return None
        if mode != "always":
            # the content id is wanted for the node anyway: one look answers both questions
            if await self.image_id(image) is not None:
                self._present.add(image)
                return None
            self._ids.pop(image, None)  # not there yet: look again once it is pulled
            if mode == "never":
                return f'image "{image}" is not present and imagePullPolicy is Never'
        host = registry_of(image)
        key = (image, cred := (auths or {}).get(host))
        # tasks that need the same image with the same credentials wait for one pull
        pending = self._pulls.get(key)
        if pending is None:
            pending = asyncio.get_running_loop().create_task(self._pull_one(image, host, cred, missing))
            self._pulls[key] = pending
            pending.add_done_callback(lambda _: self._pulls.pop(key, None))
        return await asyncio.shield(pending)

    async def _pull_one(self, image: str, host: str, cred: Cred | None, missing: tuple[str, ...]) -> str | None:
        problem = await self._pull(image, host, cred, missing)
        self._ids.pop(image, None)  # a pull may have moved the tag
        if problem is None:
            self._present.add(image)
        return problem
