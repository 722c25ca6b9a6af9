from fastapi_slices.cli import main

main()
