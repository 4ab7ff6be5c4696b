"""`import conveyor.couler.argo as couler`: the module path Couler's README imports
(`import couler.argo as couler`), with the same names as `conveyor.couler`."""

from conveyor.couler import *  # noqa: F403
from conveyor.couler import __all__ as _names
from conveyor.couler import _cleanup

__all__ = [*_names, "_cleanup"]
