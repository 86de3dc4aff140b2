"""Human-subject rating studies (PIQ paper, Secs. 3.3-3.5): designs, stored stimuli, participant
sessions, statistics, export. Torch-free at import; registers the Studies views.

Modules: :mod:`.config` (database URL, token key, password hash), :mod:`.schema` and ``migrations/``
(the database), :mod:`.storage` (the one store), :mod:`.design` and :mod:`.stimuli` (what is shown),
:mod:`.tokens` and :mod:`.runner` (participants), :mod:`.stats`, :mod:`.bundle` (one-file export),
:mod:`.loadtest`, :mod:`.cli`.
"""
from interp_core.views import View, register_view

register_view(View("study_designer", "Study designer", ":material/design_services:", "Studies",
                   "build a rating study: methods on models, inputs, questions, attention checks; participant links",
                   order=0))
register_view(View("study_session", "Study session", ":material/how_to_reg:", "Studies",
                   "a participant's session, opened by their signed link: consent, one item per screen, saved at once",
                   order=10))
register_view(View("study_results", "Study results", ":material/analytics:", "Studies",
                   "MOS ± 95% CI per method and class, box plots, Friedman/Wilcoxon-Holm, simulation, α, raw export",
                   order=20))
