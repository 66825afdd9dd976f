"""The fleet at run time: the controller that flies the dispatcher's decisions (``controller``;
its flights started and their reports handled in ``flight_reports``), one sortie in a worker
(``flight_job``), outcomes and resynchronisation after a restart (``outcome``, ``resync``),
what the controller shows (``model``, ``views``, ``stats``), order intake (``intake``), setting
a fleet up from a scenario (``setup``) and the durable store (``store/``). Built on ``flight``;
used by the console and the command line.
"""
