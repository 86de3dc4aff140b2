"""Adapters to the field's other libraries (orchestration layer): :mod:`~interp_core.integrations.quantus`
makes every explanation method of ours an ``explain_func`` of Quantus' metrics. Nothing here is imported by
the rest of ``interp_core``, and each adapter imports its library only when called."""
