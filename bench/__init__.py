"""hermesd's benchmarks (issue 7): ``python -m bench`` runs B1..B8 and writes docs/performance.md."""
