"""Safety guides and checklists for defenders, in every interface language, readable by anyone."""
