"""Parents' votes on answers: the feedback store and the answer report built from it."""
