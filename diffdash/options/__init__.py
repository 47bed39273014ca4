"""Run options, each declared once: `Option` (option.py), values and checks (values.py), the general options
(run_options.py) and the whole table (table.py: `OPTIONS`, `BY_NAME`). Kept empty so the degradations and
networks can declare their options with `Option` without importing the table that collects them."""
