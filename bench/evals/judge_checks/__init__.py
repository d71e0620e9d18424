"""`bench judge-check`'s two references, run as evaluations of a judge: GPT-4's published MT-Bench scores
(``mt_bench``) and the built-in data set's exact verifier (``verifier``). They use the MT-Bench evaluation's prompts
and the judges' agreement statistics, so they live above both (bench.evals), not among the judges."""
