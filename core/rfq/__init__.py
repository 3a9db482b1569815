"""RFQ workflow with OTC desks: state machine, disclosure, evaluation, decisions."""
