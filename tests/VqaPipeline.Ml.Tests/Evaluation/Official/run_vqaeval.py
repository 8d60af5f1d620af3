# Runs one version of GT-Vision-Lab/VQA's vqaEval.py, unmodified, on every evaluation of a cases file and prints
# what it computed as JSON. Written to run under Python 2.7 and Python 3, so that each version of the official code
# runs on the interpreter it was written for. Usage: python run_vqaeval.py VQAEVAL_SOURCE CASES_JSON
import io
import json
import sys


class FakeVqa(object):
    """The two things VQAEval reads of the official VQA helper: getQuesIds() and the qa index."""

    def __init__(self, records):
        self.qa = dict((record['question_id'], record) for record in records)
        self.order = [record['question_id'] for record in records]

    def getQuesIds(self):
        return list(self.order)


def load_vqaeval(path):
    namespace = {'__name__': 'vqaEval'}
    with open(path, 'rb') as source:  # as an import reads it: bytes, with the file's own coding line
        exec(compile(source.read(), path, 'exec'), namespace)
    return namespace['VQAEval']


def main():
    vqaeval_class = load_vqaeval(sys.argv[1])
    with io.open(sys.argv[2], encoding='utf-8') as cases_file:
        cases = json.load(cases_file)
    results = {}
    real_stdout = sys.stdout
    for evaluation in cases['evaluations']:
        annotations = FakeVqa(evaluation['annotations'])
        predictions = FakeVqa(evaluation['results'])
        scorer = vqaeval_class(annotations, predictions, n=2)
        sys.stdout = io.StringIO() if sys.version_info[0] >= 3 else io.BytesIO()  # the progress bar
        try:
            scorer.evaluate()
        finally:
            sys.stdout = real_stdout
        results[evaluation['name']] = {
            'overall': scorer.accuracy['overall'],
            'perQuestionType': scorer.accuracy['perQuestionType'],
            'perAnswerType': scorer.accuracy['perAnswerType'],
            'perQuestion': dict((str(key), value) for key, value in scorer.evalQA.items()),
        }
    real_stdout.write(json.dumps({'python': sys.version.split()[0], 'results': results}, sort_keys=True))


main()
