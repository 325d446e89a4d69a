from bitriver_lint.cli import main

main()
