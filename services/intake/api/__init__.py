"""Intake's HTTP routes: filing, reading, listing and changing complaints, all behind bearer tokens."""

from fastapi import APIRouter

from services.intake.api import changes, errors, filing, reading

router = APIRouter()
router.include_router(filing.router)
router.include_router(reading.router)
router.include_router(changes.router)

__all__ = ["errors", "router"]
