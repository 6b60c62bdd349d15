"""The three Terraform stacks. Each file composes constructs; none holds logic."""
