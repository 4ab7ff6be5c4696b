"""The pure workflow engine: `Machine.apply(event, now) -> [Action]`.

No asyncio, sqlite, subprocess or wall clock in here (a test enforces it).
"""

from conveyor.engine.actions import Action, Finished, Kill, Launch, SetTimer
from conveyor.engine.machine import Machine

__all__ = ["Action", "Finished", "Kill", "Launch", "Machine", "SetTimer"]
