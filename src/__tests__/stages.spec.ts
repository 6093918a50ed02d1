import { stageConsequences } from '../models/format';

describe('stage changes', () => {
  const versions = [
    { version: 1, stage: 'none' },
    { version: 2, stage: 'production' },
    { version: 3, stage: 'staging' }
  ];

  it('say which version is archived by a promotion', () => {
    expect(stageConsequences(versions, 1, 'production')).toEqual([
      'v2 leaves production and is archived'
    ]);
    expect(stageConsequences(versions, 1, 'staging')).toEqual([
      'v3 leaves staging and is archived'
    ]);
  });

  it('change nothing else when archiving or when the stage is free', () => {
    expect(stageConsequences(versions, 2, 'archived')).toEqual([]);
    expect(stageConsequences(versions, 2, 'production')).toEqual([]);
    expect(
      stageConsequences([{ version: 1, stage: 'none' }], 1, 'production')
    ).toEqual([]);
  });
});
