from cin_outcomes.geography import all_las, las_in_year


def test_la_counts_by_year_match_the_published_returns():
    # domain.md §6: 152 LAs to 2018-19, 151 in 2019-20 and 2020-21 (BCP), 152 in 2021-22 and 2022-23, 153 after
    assert [las_in_year(y).height for y in ("2013-14", "2019-20", "2021-22", "2023-24", "2024-25")] == [
        152, 151, 152, 153, 153]


def test_london_is_split_inner_outer_and_reorganisations_are_recorded():
    las = all_las()
    camden = las.filter(las["old_la_code"] == "202").row(0, named=True)
    assert (camden["region_code"], camden["region_name"]) == ("E13000001", "Inner London")
    bcp = las.filter(las["old_la_code"] == "839").row(0, named=True)
    assert bcp["predecessors"] == "836 837" and bcp["first_year_end"] == 2020
    assert set(las_in_year("2024-25")["old_la_code"]) >= {"942", "943"}
    assert "909" not in set(las_in_year("2024-25")["old_la_code"])
