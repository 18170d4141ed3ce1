"""Generation in the schema, one concept per module:

- ``enums``: the enums, the domain's own where it has them (JobStatus, JobSource,
  JobEventType), served under the contract's names;
- ``inputs``: GenerateInput and AdapterInput, and the one conversion to the request record;
- ``types``: Job, JobEvent, Image, GenerateParams and the connection, with their converters
  from the domain's rows and events;
- ``access``: the checks and the runtime every resolver here starts from;
- ``queries``: job, jobs and estimateCost;
- ``generate`` and ``cancel_job``: one mutation each, with its result union;
- ``job_events``: the jobEvents subscription;
- ``models``: the Model type and the models and model queries (the catalog).
"""
