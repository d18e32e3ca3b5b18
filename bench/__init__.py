"""The performance benchmark behind `make bench` (issue #8). A harness only: nothing in the product
imports it. See bench/run.py for what each figure measures, and the README's "Performance"."""
