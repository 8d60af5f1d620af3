#!/usr/bin/env python3
"""Builds official-metric-cases.json: evaluations (annotations + results) and what each version of the official
VQA evaluator computes for them, by running that version's vqaEval.py unmodified on the interpreter it was written for.

    python3 make_official_cases.py --vqa-repo PATH_TO_A_CLONE_OF_GT-Vision-Lab/VQA \
        --python2 /path/to/python2.7 --python3 /path/to/python3.12

- "official": PythonEvaluationTools/vqaEvaluation/vqaEval.py at a013f00 (2021, head of master), Python 2 code,
  run on Python 2.7.
- "official-2017": the 2017 rules (a4f1afd); that file is Python 2 as well, so its Python 3 port in the same
  repository (branch feature/update_style, 0dc4ab7, same rules, PEP 8 and print()) runs on Python 3.12.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
EVAL_PATH = 'PythonEvaluationTools/vqaEvaluation/vqaEval.py'
VERSIONS = {
    'official': ('a013f0043c1e2cdc995922dfe257f7149aa9af06', 'python2'),
    'official-2017': ('0dc4ab7c1f17971860e2e8b2911c6d83864a8c19', 'python3'),
}

# The three real VQA v2 train2014 questions of ../shared/fixtures/vqa-v2-sample (annotations_evalready_DERIVED.json).
SAMPLE = [
    (458752000, 'what is this', ['net', 'net', 'net', 'netting', 'net', 'net', 'mesh', 'net', 'pitcher', 'orange'],
     ['maybe', 'yes', 'yes', 'yes', 'yes', 'yes', 'maybe', 'yes', 'yes', 'yes']),
    (458752001, 'what', ['pitcher', 'catcher'] + ['pitcher'] * 8, ['yes', 'no'] + ['yes'] * 8),
    (458752002, 'what color is the', ['orange'] * 10, ['yes', 'yes', 'maybe'] + ['yes'] * 7),
]
SAMPLE_RESULTS = [
    ['pitcher', 'Pitcher.', 'The orange'],
    ['net', 'pitcher', 'Orange'],
    ['netting', 'catcher', 'blue'],
    ['Net', 'PITCHER', 'orange'],
    ['nets', 'pitcher ', ' orange\n'],
    ['a net', 'the pitcher', 'orange.'],
]

OTHERS = ['o1', 'o2', 'o3', 'o4', 'o5', 'o6']
AGREE = 'agree'        # ten identical human answers
DISAGREE = 'disagree'  # four say the answer, six say something else each

# (rule, prediction, human answers): each rule and quirk of the two versions, and of the interpreters they run on.
RULES = [
    ('identical humans: prediction compared as cleaned', 'Orange', AGREE, 'orange'),
    ('identical humans: prediction compared as cleaned', 'orange', AGREE, 'orange'),
    ('identical humans: prediction compared as cleaned', ' orange\n', AGREE, 'orange'),
    ('identical humans: prediction compared as cleaned', 'orange.', AGREE, 'orange'),
    ('identical humans: prediction compared as cleaned', 'the orange', AGREE, 'orange'),
    ('identical humans: prediction compared as cleaned', 'Yes', AGREE, 'Yes'),
    ('identical humans: prediction compared as cleaned', 'yes', AGREE, 'Yes'),
    ('identical humans: prediction compared as cleaned', '2', AGREE, 'two'),
    ('identical humans: prediction compared as cleaned', 'two', AGREE, 'two'),
    ('identical humans: judged after cleaning', 'orange', ['orange'] * 9 + ['orange ']),
    ('identical humans: judged after cleaning', 'orange', ['orange'] * 9 + ['\torange']),
    ('identical humans: judged after cleaning', 'red', ['red\n'] * 10),
    ('identical humans: judged after cleaning', 'red\n', ['red\n'] * 10),
    ('disagreeing humans: both sides normalized', 'The Dog!', DISAGREE, 'dog'),
    ('disagreeing humans: both sides normalized', '  the dog\n', DISAGREE, 'dog'),
    ('disagreeing humans: both sides normalized', 'Dog', DISAGREE, 'dog'),
    ('disagreeing humans: both sides normalized', 'dog', DISAGREE, 'Dog'),
    ('disagreeing humans: both sides normalized', 'dogs', DISAGREE, 'dog'),
    ('disagreeing humans: both sides normalized', '2', DISAGREE, 'two'),
    ('disagreeing humans: both sides normalized', 'two', DISAGREE, 'two'),
    ('disagreeing humans: both sides normalized', 'two', DISAGREE, '2'),
    ('disagreeing humans: both sides normalized', 'yes', DISAGREE, 'yes!'),
    ('disagreeing humans: both sides normalized', 'yes!', DISAGREE, 'yes!'),
    ('disagreeing humans: both sides normalized', 'Yes', DISAGREE, 'Yes'),
    ('disagreeing humans: both sides normalized', 'the orange', DISAGREE, 'orange'),
    ('comma rule', '1000', DISAGREE, '1,000'),
    ('comma rule', '1,000', DISAGREE, '1,000'),
    ('comma rule', '1,000', DISAGREE, '1000'),
    ('comma rule', '1, 000', DISAGREE, '1000'),
    ('comma rule', 'a,b', DISAGREE, 'a b'),
    ('comma rule', 'hello, world', DISAGREE, 'hello world'),
    ('comma rule', '1,2;3', DISAGREE, '123'),
    ('comma rule', '1,2;3', DISAGREE, '1 2 3'),
    ('period regex', '3.5', DISAGREE, '3.5'),
    ('period regex', '.5', DISAGREE, '0.5'),
    ('period regex', '3.', DISAGREE, '3'),
    ('period regex', 'e.g.', DISAGREE, 'eg'),
    ('period regex', 'mr. t', DISAGREE, 'mr t'),
    ('period regex', 'a.b', DISAGREE, 'ab'),
    ('period regex', '...', DISAGREE, 'o7'),
    ('period regex: at most 32 removed', '.' * 8, DISAGREE, '.' * 40),
    ('period regex: at most 32 removed', '', DISAGREE, '.' * 40),
    ('period regex: at most 32 removed', 'a' * 33 + '.a' * 7 + '.', DISAGREE, 'a.' * 40),
    ('punctuation beside a space', 'left handed', DISAGREE, 'left-handed'),
    ('punctuation beside a space', 'left-handed', DISAGREE, 'left handed'),
    ('punctuation beside a space', 'ok fine', DISAGREE, '[ok] fine'),
    ('punctuation beside a space', 'x y', DISAGREE, 'x -y'),
    ('punctuation beside a space', 'a', DISAGREE, '(a)'),
    ('punctuation beside a space', 'hello\\tworld', DISAGREE, 'hello tworld'),
    ('colon and apostrophe kept', '3:00', DISAGREE, '3:00'),
    ('colon and apostrophe kept', '300', DISAGREE, '3:00'),
    ('colon and apostrophe kept', "rock'n'roll", DISAGREE, "rock'n'roll"),
    ('articles', 'a dog', DISAGREE, 'dog'),
    ('articles', 'the', DISAGREE, 'a'),
    ('articles', 'an apple', DISAGREE, 'apple'),
    ('articles', 'theater', DISAGREE, 'theater'),
    ('number words', 'none', DISAGREE, '0'),
    ('number words', 'zero', DISAGREE, 'none'),
    ('number words', 'ten', DISAGREE, '10'),
    ('number words', 'eleven', DISAGREE, '11'),
    ('contractions', 'dont', DISAGREE, "don't"),
    ('contractions', 'Dont', DISAGREE, 'dont'),
    ('contractions', 'i dont know', DISAGREE, "i don't know"),
    ('contractions', 'whats', DISAGREE, "what's"),
    ('contractions', 'oclock', DISAGREE, "o'clock"),
    ('contractions', 'Im', DISAGREE, "I'm"),
    ('contractions', 'im', DISAGREE, 'Im'),
    ('contractions', "somebody'd", DISAGREE, 'somebodyd'),
    ('contractions', 'somebodyd', DISAGREE, "somebody'd"),
    ('whitespace', 'hi  there', DISAGREE, 'hi there'),
    ('whitespace', u'\u00a0hi\u2003there ', DISAGREE, 'hi there'),
    ('whitespace', u'a\u001cb', DISAGREE, 'a b'),
    ('whitespace', u'a\u180eb', DISAGREE, 'a b'),
    ('whitespace', u'\u180eorange', AGREE, 'orange'),
    ('unicode case', u'\u0130stanbul', DISAGREE, 'istanbul'),
    ('unicode case', u'\u0130stanbul', DISAGREE, u'i\u0307stanbul'),
    ('unicode case', u'\u13a0', DISAGREE, u'\uab70'),
    ('unicode case', u'\u13a0', DISAGREE, u'\u13a0'),
    ('unicode case', u'\u0391\u03a3\u03a3\u039f\u03a3', DISAGREE, u'\u03b1\u03c3\u03c3\u03bf\u03c2'),
    ('unicode case', u'\u0391\u03a3\u03a3\u039f\u03a3', DISAGREE, u'\u03b1\u03c3\u03c3\u03bf\u03c3'),
    ('unicode case', u'\U00010400', DISAGREE, u'\U00010428'),
    ('unicode digits', u'\u0661,\u0662', DISAGREE, u'\u0661\u0662'),
    ('unicode digits', u'\u0661,\u0662', DISAGREE, u'\u0661 \u0662'),
    ('unicode digits', u'x.\u0661', DISAGREE, u'x\u0661'),
    ('unicode digits', u'x.\u0661', DISAGREE, u'x.\u0661'),
]


def humans(answers, with_ids=True):
    return [dict(answer=a, answer_confidence='yes', answer_id=i + 1) if with_ids else dict(answer=a)
            for i, a in enumerate(answers)]


def question(qid, qtype, answers, atype='other', note=None, with_ids=True):
    record = dict(question_id=qid, question_type=qtype, answer_type=atype, answers=humans(answers, with_ids))
    if note:
        record['note'] = note
    return record


def evaluation(name, annotations, answers):
    return dict(name=name, annotations=annotations,
                results=[dict(question_id=a['question_id'], answer=p) for a, p in zip(annotations, answers)])


def matches(k):
    """Ten distinct annotators, k of whom say "red"."""
    return ['red'] * k + ['other%d' % i for i in range(10 - k)]


def build_evaluations():
    evaluations = []
    sample = [dict(question_id=qid, question_type=qtype, answer_type='other',
                   answers=[dict(answer=a, answer_confidence=c, answer_id=i + 1) for i, (a, c) in enumerate(zip(answers, confidences))])
              for qid, qtype, answers, confidences in SAMPLE]
    for index, answers in enumerate(SAMPLE_RESULTS):
        evaluations.append(evaluation('vqa-v2-sample %d' % (index + 1), sample, answers))

    rules, predictions = [], []
    for index, (rule, prediction, kind, *answer) in enumerate(RULES):
        if kind == AGREE:
            answers = answer * 10
        elif kind == DISAGREE:
            answers = answer * 4 + OTHERS
        else:
            answers = kind
        note = '%s: prediction %r against %r' % (rule, prediction, answers if kind not in (AGREE, DISAGREE) else
                                                  '%s (%s)' % (answer[0], '10 of 10' if kind == AGREE else '4 of 10'))
        rules.append(question(1000 + index, rule, answers, note=note))
        predictions.append(prediction)
    evaluations.append(evaluation('rules', rules, predictions))

    evaluations.append(evaluation('leave one out: k of 10 humans match',
                                  [question(2000 + k, 'k=%d' % k, matches(k)) for k in range(11)], ['red'] * 11))
    # Entries equal in every field leave together: Python compares the whole dicts (item != gtAnsDatum).
    evaluations.append(evaluation('identical entries leave together',
                                  [question(3000, 'what', ['red'] * 4 + ['a', 'b'], with_ids=False),
                                   question(3001, 'what', ['red'] * 4 + ['a', 'b', 'a'], with_ids=False)], ['red', 'a']))
    # Sixteen questions: 100 * s / 16 is a tie at two decimals for s = 0.9 (5.625), 1.9 (11.875) and 2.9 (18.125).
    for right in ([3], [3, 4], [3, 4, 4]):
        ks = right + [0] * (16 - len(right))
        evaluations.append(evaluation('rounding tie: %d matches among 16' % len(right),
                                      [question(4000 + 100 * len(right) + i, 'what', matches(k)) for i, k in enumerate(ks)],
                                      ['red'] * 16))
    # The sum of these accuracies lands on either side of 58.125 depending on how the floats are added.
    ks = [1, 4, 1, 0, 0, 3, 0, 4, 2, 4, 1, 0, 4, 4, 4, 3]
    evaluations.append(evaluation('summation order',
                                  [question(6000 + i, 'what', matches(k)) for i, k in enumerate(ks)], ['red'] * len(ks)))
    types = [('what color', 'other', 4), ('is the', 'yes/no', 0), ('what color', 'other', 2), ('how many', 'number', 3),
             ('is the', 'yes/no', 10), ('how many', 'number', 1), ('what color', 'other', 3)]
    evaluations.append(evaluation('per type means',
                                  [question(7000 + i, qtype, matches(k), atype) for i, (qtype, atype, k) in enumerate(types)],
                                  ['red'] * len(types)))
    return evaluations


def official_source(repo, commit, directory):
    path = os.path.join(directory, commit + '.py')
    with open(path, 'wb') as target:
        target.write(subprocess.check_output(['git', '-C', repo, 'show', '%s:%s' % (commit, EVAL_PATH)]))
    return path


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--vqa-repo', required=True)
    parser.add_argument('--python2', required=True)
    parser.add_argument('--python3', required=True)
    parser.add_argument('--out', default=os.path.join(HERE, 'official-metric-cases.json'))
    args = parser.parse_args()

    cases = dict(evaluations=build_evaluations())
    expected, interpreters = {}, {}
    with tempfile.TemporaryDirectory() as directory:
        inputs = os.path.join(directory, 'cases.json')
        with open(inputs, 'w', encoding='utf-8') as target:
            json.dump(cases, target)
        for metric, (commit, interpreter) in VERSIONS.items():
            python = getattr(args, interpreter)
            run = json.loads(subprocess.check_output(
                [python, os.path.join(HERE, 'run_vqaeval.py'), official_source(args.vqa_repo, commit, directory), inputs]))
            expected[metric] = run['results']
            interpreters[metric] = dict(commit=commit, path=EVAL_PATH, python=run['python'])
    cases['produced_by'] = dict(script='make_official_cases.py', repository='GT-Vision-Lab/VQA', versions=interpreters)
    cases['expected'] = expected
    with open(args.out, 'w', encoding='utf-8') as target:
        json.dump(cases, target, indent=1, sort_keys=True, ensure_ascii=True)
        target.write('\n')
    print('wrote %s (%d evaluations)' % (args.out, len(cases['evaluations'])), file=sys.stderr)


if __name__ == '__main__':
    main()
