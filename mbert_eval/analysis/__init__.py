"""Why transfer differs: the measures a report sets zero-shot scores against.

typology   typological distances between two languages: URIEL's (Littell et al. 2017) for real languages, the
           synthetic family's designed typology for its languages; script match
overlap    subword overlap between source training text and target test text under a model's tokenizer
seeds      means over seeds, each seed's cells averaged first: what every table, analysis and curve takes
transfer   zero-shot scores of a store joined with those distances, and Spearman's rho across targets
"""
