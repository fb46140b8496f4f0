from .cli import script

if __name__ == "__main__":  # a process started by multiprocessing's spawn imports this module under another name
    script()
