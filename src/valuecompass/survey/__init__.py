"""The web survey: people take an instrument (the Value Form by default) in a browser, page by
page and in any of its languages, into the store.

``create_app(settings, engine)`` builds the app; ``valuecompass survey serve`` runs it.
"""

from valuecompass.survey._app import create_app
from valuecompass.survey._settings import (
    AttentionCheck,
    OpenQuestion,
    SurveyConfigError,
    SurveyContent,
    SurveySettings,
    load_content,
    make_settings,
)

__all__ = [
    "AttentionCheck",
    "OpenQuestion",
    "SurveyConfigError",
    "SurveyContent",
    "SurveySettings",
    "create_app",
    "load_content",
    "make_settings",
]
