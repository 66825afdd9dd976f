"""One delivery flight on one vehicle: pre-flight checks (``preflight``), readiness of a freshly
launched vehicle (``ready``), the orchestration from upload to disarm (``flight``) and what the
vehicle reports of its progress (``progress``). Built on ``mavlink``; used by ``fleet`` and the
``fly`` command.
"""
