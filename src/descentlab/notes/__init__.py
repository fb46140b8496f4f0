"""What belongs to the notes themselves: the numbers they printed, and their training loop (oracle and baseline).

Nothing in the library computes from these numbers; they are what the library's
results are checked against.
"""
