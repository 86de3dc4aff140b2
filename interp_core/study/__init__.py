"""Human-subject rating studies (PIQ paper, Secs. 3.3-3.5): designs, stored stimuli, participant
sessions, statistics, export. Torch-free at import; registers the Studies views.

Modules: :mod:`.config` (database URL, token key, password hash), :mod:`.schema` and ``migrations/``
(the database), :mod:`.storage` and :mod:`.answer_writer` (the one store, group commit), :mod:`.design`,
:mod:`.stimuli` and :mod:`.checks` (what is shown, gold and trapping items), :mod:`.assignment` (balanced
designs), :mod:`.quality`, :mod:`.screening` and :mod:`.headphone` (quality control), :mod:`.tokens`,
:mod:`.recruitment` and :mod:`.runner` (participants, platform links), :mod:`.stats`, :mod:`.exclusion`
and :mod:`.results` (analysis), :mod:`.bundle` (one-file export), :mod:`.loadtest`,
:mod:`.dashboard_load` and :mod:`.scaleout` (load tests, serving), :mod:`.cli`.
"""
from interp_core.views import View, register_view

register_view(View("study_designer", "Study designer", ":material/design_services:", "Studies",
                   "build a rating study: methods on models, inputs, questions, quality control, balanced assignment; "
                   "participant and platform links",
                   order=0))
register_view(View("study_session", "Study session", ":material/how_to_reg:", "Studies",
                   "a participant's session, opened by their signed or platform link: consent, screening, one item per "
                   "screen, saved at once",
                   order=10))
register_view(View("study_results", "Study results", ":material/analytics:", "Studies",
                   "live cell counts, exclusions, MOS ± 95% CI per method and class, box plots, Friedman/Wilcoxon-Holm, "
                   "agreement, raw export",
                   order=20))
