"""``hermes_cli.__version__``: the Hermes release whose plugin contract hermesd implements.

0.13.0 is the release the seeds describe. Plugins put it in User-Agents
(gmi sends ``HermesAgent/0.13.0``), so a provider that identifies Hermes
traffic by it sees hermesd's requests as Hermes' own.
"""

__version__ = "0.13.0"
