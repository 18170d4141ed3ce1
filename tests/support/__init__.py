"""Test support: what the tests share, one concept a module, each helper defined once.

No test module imports another test module; shared fixtures live in a conftest.py or in
``fixtures`` (a plugin the root conftest.py registers).

- ``poll``: ``until``/``until_sync``, the one poller (bounded, failing with the last answer)
- ``ports``: ``free_port``
- ``services``: the shared PostgreSQL and RabbitMQ (URLs, ``run_sync``, ``rabbitmqctl``,
  ``Vhost``, ``pooled``)
- ``processes``: the launchers of `neurall serve`/`worker`/`gpu` (log files, ``wait_http``,
  ``running``, ``Processes``) and ``distributed_stack``
- ``triton``: a `neurall gpu` server of the tests' own and its client
- ``graphql``: ``GraphQLClient`` and the shared documents (SIGN_UP, CREATE_KEY, GENERATE,
  JOB, ...)
- ``factories``: accounts, keys, jobs and clones through the API or as rows
- ``jobs``: waiting for jobs to end; ``ledger``: ``assert_invariants``, ``check_ledgers``
- ``events``: jobEvents sockets; ``clones``: cloning documents, photos, uploads
- ``stack_api``: an account on a running `neurall serve`; ``app``: the in-process app's
  downloads, usage buffer and exports
- ``runtime``: generation settings and a held runtime; ``gpu``: inference requests and
  small models
- ``s3``, ``smtp``, ``stripe``, ``webhooks``, ``instances``, ``sentinel``, ``files``,
  ``metrics_scrape``, ``browser``: the servers, stand-ins and searches of their areas
- ``event_probe``: a test subscriber of domain events, and a relay process to kill
- ``sdk``: for the Python SDK's tests, accounts over plain HTTP and a proxy that loses
  answers, refuses with 503 or 429, and drops websockets
- ``fixtures``: the fixtures several directories share
"""
